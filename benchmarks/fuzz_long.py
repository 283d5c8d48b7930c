"""Long fuzz run: generated bad inputs through the command line and the Python API.

Usage::

    python benchmarks/fuzz_long.py [--cases 10000] [--seed 0] [--api-share 0.3] [--show 3]

Draws ``--cases`` cases from ``tests/fuzz/cases.py`` (seeded: the same seed gives the same
cases). A share ``--api-share`` of them calls the Python API (``estimate_spectrum``,
``analyze_reweighting``, ``streaming_covariance``, ``io.load_array``,
``FrontierSampler.update``, … with generated arrays and arguments, see
``tests/fuzz/api_cases.py``); the rest run ``specurate spectrum`` or ``specurate reweight``
in-process with typer's ``CliRunner`` on generated files (malformed ``.npy``/``.npz``/
``.parquet``/``.csv``, wrong dtypes, NaN/inf, empty, one row/column, huge or tiny scales,
FIFOs, bad label/weight files, out-of-range options).

It prints the counts of each outcome:

* CLI ``ok`` — exit 0 with valid output (JSON without NaN/inf; b, α, C numbers or null with
  their stated reason);
* CLI ``error`` — exit 2 with one line ``error: …`` naming the file or option;
* CLI ``usage`` — exit 2 with click's usage error naming the option (out-of-range values
  that the option parser itself refuses);
* API ``ok`` / ``SpecurateInputError``;
* anything else, by signature (exception type and where it was raised, or what was wrong
  with the output), with ``--show`` example cases each.

Exit status 1 when any case ends outside those outcomes.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "fuzz" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="cases to run (CLI + API)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the case generator")
    ap.add_argument("--api-share", type=float, default=0.3, help="share of API cases")
    ap.add_argument("--show", type=int, default=3, help="example cases per bad signature")
    args = ap.parse_args()

    import numpy as np

    cases_mod = _load("cases")
    api_mod = _load("api_cases")
    n_api = round(args.cases * args.api_share)
    n_cli = args.cases - n_api
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="specurate-fuzz-"))
    try:
        for i, case in enumerate(cases_mod.generate(n_cli, seed=args.seed)):
            folder = root / f"c{i}"
            out = cases_mod.run_cli(case, folder)
            key = f"CLI {out.kind}" + (f": {out.detail}" if out.kind == "bad" else "")
            counts[key] += 1
            if out.kind == "bad" and len(examples[key]) < args.show:
                examples[key].append(" ".join(case.args))
            shutil.rmtree(folder, ignore_errors=True)
            if (i + 1) % 500 == 0:
                print(f"  {i + 1} CLI cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rng = np.random.default_rng(args.seed + 1)
        for _ in range(n_api):
            call = api_mod.draw_call(rng)
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                verdict = api_mod.run_call(call)
            key = f"API {verdict}"
            counts[key] += 1
            if not verdict.startswith(("ok", "SpecurateInputError")) and (
                len(examples[key]) < args.show
            ):
                examples[key].append(call.describe())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    print(f"{args.cases} cases ({n_cli} CLI, {n_api} API) in {elapsed:.0f} s, seed {args.seed}")
    bad = 0
    for key, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        good = key in ("CLI ok", "CLI error", "CLI usage") or key.startswith(
            ("API ok", "API SpecurateInputError")
        )
        bad += 0 if good else c
        print(f"{c:7d}  {key}")
        for ex in examples.get(key, []):
            print(f"           e.g. {ex}")
    print(f"anything else: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
