"""Packaging contracts: the core imports without torch and re-exports its public API."""

import subprocess
import sys

import specurate


def test_core_imports_without_torch():
    code = (
        "import sys\n"
        "class NoTorch:\n"  # a finder that makes any 'import torch' fail, as if not installed
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch is blocked')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import specurate, specurate.cli, specurate.study, specurate.spectrum.large\n"
        "import specurate.dynamics.samples, specurate.dynamics.compare, specurate.curation\n"
        "import specurate.torch\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_public_api_is_declared():
    for name in specurate.__all__:
        assert hasattr(specurate, name), name
