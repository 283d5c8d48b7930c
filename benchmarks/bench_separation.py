"""Static vs dynamic curation in real (torch) training of a mode-local model on fresh samples:
speed-up to uniform's loss at every budget, fitted exponents, and the ratio of the dynamic
rule's speed-up to every bound C at the largest budget (issue 13's central measurement).

    python benchmarks/bench_separation.py [--modes 100000] [--batch 1024] [--seeds 3]
        [--budgets 100,316,1000,3162,10000,31623] [--out bench-separation]

Resumable: every finished run is a JSON file in OUT/cache; progress goes to stderr and to
bench-separation.log. Writes OUT/separation.json and OUT/separation.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _log import progress

from specurate._progress import log_progress
from specurate.bench.separation import SeparationConfig, run_separation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budgets", default="100,316,1000,3162,10000,31623")
    ap.add_argument("--out", default="bench-separation")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = SeparationConfig(
        modes=args.modes,
        batch=args.batch,
        seeds=args.seeds,
        budgets=tuple(int(b) for b in args.budgets.split(",")),
    )
    progress("separation", f"config {config.to_dict()}")
    start = time.perf_counter()
    with log_progress(Path("bench-separation.log")):
        result = run_separation(config, progress=True, cache=out / "cache")
    progress("separation", f"done in {time.perf_counter() - start:.0f} s")
    doc = result.to_dict()
    (out / "separation.json").write_text(json.dumps(doc, indent=1))
    from rich.console import Console

    from specurate.report.experiments import plot_separation, render_separation

    console = Console(width=200)
    for table in render_separation(doc):
        console.print(table)
    plot_separation(doc, out / "separation.png")
    top = config.budgets[-1]
    g = result.speedup["greedy"][-1]["value"]
    for cap in config.caps:
        print(f"greedy speed-up / C = {cap:g} at {top} steps: {g / cap:.2f}")
    print("\n".join(result.verdict))


if __name__ == "__main__":
    main()
