"""Import time of ``import specurate``: this tree against the package before issue 12 (eager
top-level re-exports), measured in one run on this machine.

Each side runs ``python -X importtime -c "import specurate"`` in a fresh interpreter ``--repeats``
times (alternating); the cumulative microseconds of the ``specurate`` line are read from the
report, and the best run of each side is compared. Prints both times and their ratio.

    python benchmarks/bench_import.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from _reference import reference_src

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_12 = "2c157db"


def import_us(src: Path) -> int:
    """Cumulative µs of ``import specurate`` from ``src`` (a fresh interpreter)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import specurate"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    line = next(x for x in out.splitlines() if x.rstrip().endswith("| specurate"))
    return int(line.split("|")[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    with reference_src(BEFORE_ISSUE_12) as old:
        new_t, old_t = [], []
        for _ in range(args.repeats):
            new_t.append(import_us(ROOT / "src"))
            old_t.append(import_us(old))
    new, ref = min(new_t), min(old_t)
    print(f"import specurate: {ref / 1e3:.1f} ms at {BEFORE_ISSUE_12}, {new / 1e3:.1f} ms now")
    print(f"ratio (before / now): {ref / new:.0f}x   (best of {args.repeats} each)")


if __name__ == "__main__":
    main()
