r"""Spectra of data sets too large for memory: streaming covariance plus a grouped jackknife.

The covariance and the cross-covariance with the targets are accumulated in one pass over a
memory-mapped ``.npy`` or a Parquet file (:func:`specurate.spectrum.streaming.streaming_covariance`,
memory O(G·d²) with G jackknife groups, independent of n). Confidence intervals come from the
delete-one-group jackknife: with replicates :math:`\theta_{(g)}` (fit range re-selected in each),

.. math::  \widehat{\mathrm{se}} = \sqrt{\tfrac{G-1}{G}\sum_g (\theta_{(g)} - \bar\theta)^2},
           \qquad \mathrm{CI} = \hat\theta \pm z_{(1+\text{ci})/2}\,\widehat{\mathrm{se}}.

Rows are split into G contiguous blocks: shuffle the file first if its order is not random.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats

from specurate.errors import SpecurateInputError
from specurate.spectrum.estimate import (
    MIN_EXAMPLES,
    EnergyFit,
    SpectrumReport,
    TargetReport,
    fit_debiased,
    fit_target,
    mode_energies,
    prepare_targets,
    small_eigh,
)
from specurate.spectrum.powerlaw import PowerLawFit
from specurate.spectrum.streaming import streaming_covariance


def _source_dtype(source: str | Path | np.ndarray) -> np.dtype | None:
    if isinstance(source, np.ndarray):
        return source.dtype
    p = Path(source)
    if p.suffix == ".npy" and p.exists():
        return np.load(p, mmap_mode="r").dtype
    return None


def _exponents(
    cov: np.ndarray, cross: np.ndarray | None, target_var: np.ndarray | None, n: int
) -> tuple[PowerLawFit, np.ndarray, EnergyFit | None, np.ndarray | None, float, float]:
    """(fit of b, eigenvalues, fit of a or None, energies, total target energy, chance)."""
    lam, v = small_eigh(cov)
    fit = fit_debiased(lam, n=n)  # Gaussian plug-in: no fourth moments in one pass
    if cross is None:
        return fit, lam, None, None, float("nan"), float("nan")
    e = mode_energies(lam, v, cross)
    total = float(np.sum(target_var))
    efit, chance = fit_target(lam, fit, e, total, n)
    return fit, lam, efit, e, total, chance


def estimate_spectrum_streaming(
    source: str | Path | np.ndarray,
    y: np.ndarray | None = None,
    *,
    task: Literal["auto", "regression", "classification"] = "auto",
    groups: int = 20,
    ci: float = 0.9,
    precision: Literal["auto", "double", "mixed"] = "auto",
    chunk_rows: int | None = None,
    progress: bool = False,
) -> SpectrumReport:
    """Covariance spectrum, b and (with labels) a of a large data set, read in chunks.

    Args:
        source: path to ``.npy`` (memory-mapped) or ``.parquet``, or an array.
        y: optional in-memory targets / class labels, one per row.
        groups: jackknife groups G (0: no CI); memory is (G + 1) × the d×d matrix.
        ci: confidence level of the normal jackknife intervals.
        precision: ``"auto"`` accumulates float32 sources in mixed precision (float32 blocks
            folded into float64 every 4096 rows: relative error ~1e-7, at the level of the
            data's own rounding) and everything else in float64.
    """
    if groups == 1 or groups < 0:
        raise SpecurateInputError(f"groups must be 0 or at least 2, got {groups}.")
    if precision == "auto":
        precision = "mixed" if _source_dtype(source) == np.float32 else "double"
    yy = None if y is None else prepare_targets(y, task)
    mom = streaming_covariance(
        source,
        targets=yy,
        groups=groups,
        precision=precision,
        chunk_rows=chunk_rows,
        progress=progress,
    )
    if mom.n < MIN_EXAMPLES:
        raise SpecurateInputError(
            f"the data have {mom.n} examples; spectral fits need at least {MIN_EXAMPLES}."
        )
    fit, lam, efit, energies, total, chance = _exponents(
        mom.covariance, mom.cross, mom.target_var, mom.n
    )
    b = fit.b
    a = efit.a if efit is not None else float("nan")
    reps = np.full((groups, 3), np.nan)
    for g in range(groups):
        n_g = mom.n - int(mom.group_count[g])
        cross_g, var_g = mom.leave_one_out_targets(g) if yy is not None else (None, None)
        try:
            fit_g, _, efit_g, *_ = _exponents(mom.leave_one_out(g), cross_g, var_g, n_g)
        except SpecurateInputError:
            continue
        a_g = efit_g.a if efit_g is not None else np.nan
        reps[g] = (fit_g.b, a_g, (a_g - 1) / fit_g.b)
    z = stats.norm.ppf((1 + ci) / 2)

    def jack(col: int, est: float) -> tuple[float, float]:
        r = reps[:, col][np.isfinite(reps[:, col])]
        if groups == 0 or r.size < 2:
            return (float("nan"), float("nan"))
        se = float(np.sqrt((r.size - 1) / r.size * np.sum((r - r.mean()) ** 2)))
        return (float(est - z * se), float(est + z * se))

    b_ci = jack(0, b)
    target = None
    if yy is not None:
        target = TargetReport(
            energies=energies,
            total_energy=total,
            chance_energy=chance,
            a=a,
            log_c=efit.log_c,
            a_ci=jack(1, a),
            fit_range=efit.fit_range,
            learning_exponent=(a - 1) / b,
            learning_exponent_ci=jack(2, (a - 1) / b),
        )
    return SpectrumReport(
        n=mom.n,
        d=mom.d,
        kernel="linear",
        centered=True,
        bandwidth=None,
        eigenvalues=lam,
        fit=fit,
        b_ci=b_ci,
        alpha_ci=tuple(float(x) for x in sorted(1 + 1 / np.array(b_ci))),
        b_bootstrap_sd=float("nan"),
        bootstrap=groups,
        ci=ci,
        target=target,
        extras={"ci_method": "grouped jackknife", "groups": groups, "precision": precision},
    )
