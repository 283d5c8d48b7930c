"""Simulator tail closure against a finite exact run: the closed problem at N modes (the modes
beyond N carried by the analytic tail) vs the same problem with ``--mult``·N real modes, for the
feedback policies; the largest relative error of the loss L inside the validity window
k* ≤ N/10. Prints this tree's errors and those of the package before the tail fix (same run).

    python benchmarks/bench_tail.py [--n 1000] [--mult 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _reference import ROOT, reference_src

BEFORE_TAIL_FIX = "d666a44"  # the last commit before the tail weight of issue 13

CODE = r"""
import json, sys
import numpy as np
from specurate.dynamics.modes import power_law_modes
from specurate.dynamics.policies import SelfScore, SoftOracle
from specurate.dynamics.simulate import simulate

n, mult = int(sys.argv[1]), int(sys.argv[2])
out = {}
for a, b in [(2.0, 1.2), (2.0, 1.3), (2.5, 1.5)]:
    for pol in (SoftOracle(), SelfScore()):
        kw = dict(t_min=1.0, t_max=1e6, points_per_decade=20)
        closed = simulate(power_law_modes(a, b, n_modes=n), pol, **kw)
        exact = simulate(power_law_modes(a, b, n_modes=mult * n), pol, **kw)
        ok = (exact.k_star <= n / 10) & (exact.k_star >= 1)
        err = float(np.max(np.abs(closed.loss / exact.loss - 1)[ok]))
        out[f"{pol.name} a={a:g} b={b:g}"] = err
print(json.dumps(out))
"""


def errors(src: str, n: int, mult: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src}
    res = subprocess.run(
        [sys.executable, "-c", CODE, str(n), str(mult)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--mult", type=int, default=30)
    args = ap.parse_args()
    now = errors(str(ROOT / "src"), args.n, args.mult)
    with reference_src(BEFORE_TAIL_FIX) as old:
        before = errors(str(old), args.n, args.mult)
    print(f"max relative L error inside k* <= N/10 (N = {args.n}, exact: {args.mult}N modes)")
    print(f"| case | {BEFORE_TAIL_FIX} | now |")
    print("|---|---|---|")
    for key, err in now.items():
        print(f"| {key} | {before[key]:.2%} | {err:.2%} |")
    print(f"worst now: {max(now.values()):.2%} (goal ≤ 0.5 %)")


if __name__ == "__main__":
    main()
