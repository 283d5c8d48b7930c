"""Monte-Carlo noise of the jackknife interval of b: its width over fold seeds (issue 16).

For each data set the 90% jackknife interval of b is computed for fold seeds 0 … S−1 (the data
fixed) two ways:

* **before** — the former rule: every replicate re-chooses the fit range (and the plain bias
  correction), one assignment of G = 20 folds;
* **after** — ``estimate_spectrum`` now: replicates refit on the full data's range with the
  gap-floored correction (``refit_fixed_range``), the variance averaged over 3 fold assignments.

Printed per data set: the widths per seed, their max/min ratio, the s.d. of the interval's ends
over seeds against the mean reported ``b_ci_mc_error`` (after), and the time per estimate.
``--threads`` also measures how the BLAS thread count (threadpoolctl, 1 vs 2) moves
``estimate_spectrum``'s numbers.

    python benchmarks/bench_ci_noise.py            # digits, planted n=2,000 (d = 64, 256)
    python benchmarks/bench_ci_noise.py --large    # + planted n=20,000, d=512 (minutes)
    python benchmarks/bench_ci_noise.py --threads
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from specurate.datasets import digits, planted_powerlaw
from specurate.errors import SpecurateInputError
from specurate.spectrum.debias import fit_debiased, fourth_moments
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.features import operator_features, weighted_eigh
from specurate.spectrum.resample import WhitenedReplicates, jackknife_ci, jackknife_map


def before_ci(x: np.ndarray, *, seed: int, groups: int = 20, level: float = 0.9) -> tuple:
    """The former jackknife interval of b: the automatic range re-chosen in every replicate."""
    n = x.shape[0]
    op = operator_features(x)
    lam, v = weighted_eigh(op.features)
    moments = fourth_moments(op.features, v)
    fit = fit_debiased(lam, n=n, moments=moments)
    engine = WhitenedReplicates(op.features, lam, v, None, True)

    def replicate(counts: np.ndarray) -> float:
        lam_b = engine.replicate(counts)[0]
        n_eff = n * n / float(counts @ counts)
        try:
            return fit_debiased(lam_b, n=n, n_eff=n_eff, moments=moments, compare=False).b
        except SpecurateInputError:
            return float("nan")

    reps = np.array(jackknife_map(replicate, n, groups, seed=seed))
    return jackknife_ci(fit.b, reps, level)


def measure(name: str, x: np.ndarray, seeds: int) -> None:
    rows = {}
    for label in ("before", "after"):
        t = time.perf_counter()
        widths, mc = [], []
        for s in range(seeds):
            if label == "before":
                lo, hi = before_ci(x, seed=s)
            else:
                rep = estimate_spectrum(x, seed=s)
                lo, hi = rep.b_ci
                mc.append(rep.extras["b_ci_mc_error"])
            widths.append(hi - lo)
        w = np.array(widths)
        rows[label] = w
        per = (time.perf_counter() - t) / seeds
        print(f"{name:>22} {label:>6}: widths {' '.join(f'{v:.4f}' for v in w)}")
        extra = f", mean reported b_ci_mc_error {np.mean(mc):.5f}" if mc else ""
        print(
            f"{'':>22} {'':>6}  ratio max/min {w.max() / w.min():.2f}, s.d. of the ends over "
            f"seeds {np.std(w / 2, ddof=1):.5f}{extra}; {per:.2f} s per estimate"
        )


def threads(x: np.ndarray, name: str) -> None:
    """Largest differences between 1 and 2 BLAS threads (same seed)."""
    out = {}
    for k in (1, 2):
        with threadpool_limits(limits=k, user_api="blas"):
            out[k] = estimate_spectrum(x, seed=0)
    a, b = out[1], out[2]
    r = int(np.sum(a.eigenvalues > a.eigenvalues[0] * 1e-12))
    rel = np.max(np.abs(a.eigenvalues[:r] - b.eigenvalues[:r]) / np.abs(b.eigenvalues[:r]))
    print(
        f"{name:>22} 1 vs 2 BLAS threads: eigenvalues max rel diff {rel:.1e}, "
        f"b diff {abs(a.b - b.b):.1e}, b_ci diff "
        f"{max(abs(p - q) for p, q in zip(a.b_ci, b.b_ci, strict=True)):.1e}, "
        f"fit range {a.fit.fit_range} vs {b.fit.fit_range}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--large", action="store_true", help="also planted n=20,000, d=512")
    ap.add_argument("--threads", action="store_true", help="BLAS 1 vs 2 threads")
    args = ap.parse_args()
    sets = {
        "digits": digits().x,
        "planted n=2000 d=64": planted_powerlaw(2000, 64, seed=0).x,
        "planted n=2000 d=256": planted_powerlaw(2000, 256, seed=0).x,
    }
    if args.large:
        sets["planted n=20000 d=512"] = planted_powerlaw(20_000, 512, seed=0).x
    if args.threads:
        for name, x in sets.items():
            threads(x, name)
        return
    print(f"90% jackknife interval of b, fold seeds 0-{args.seeds - 1} (data fixed)")
    for name, x in sets.items():
        measure(name, x, args.seeds)


if __name__ == "__main__":
    main()
