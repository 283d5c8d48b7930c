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

from specurate.errors import SpecurateInputError
from specurate.io import RowSource, open_rows
from specurate.spectrum.debias import fit_debiased
from specurate.spectrum.features import MIN_EXAMPLES, small_eigh
from specurate.spectrum.powerlaw import PowerLawFit
from specurate.spectrum.report import SpectrumReport, TargetReport
from specurate.spectrum.resample import jackknife_ci
from specurate.spectrum.streaming import Precision, StreamingCovariance, streaming_covariance
from specurate.spectrum.target import EnergyFit, fit_target, mode_energies, prepare_targets


def _auto_precision(src: RowSource) -> Precision:
    """``"mixed"`` for float32 arrays and .npy files, else ``"double"`` (tables are accumulated
    in double precision whatever their column types)."""
    mixed = src.dtype == np.float32 and src.format in ("array", ".npy")
    return "mixed" if mixed else "double"


def _exponents(
    cov: np.ndarray,
    cross: np.ndarray | None,
    target_var: np.ndarray | None,
    n: int,
    *,
    strict_target: bool = True,
) -> tuple[PowerLawFit, np.ndarray, EnergyFit | None, np.ndarray | None, float, float]:
    """(fit of b, eigenvalues, fit of a or None, energies, total target energy, chance).

    A target whose a cannot be fitted raises only with ``strict_target``; otherwise its fit is
    None (a jackknife replicate then keeps its b)."""
    lam, v = small_eigh(cov)
    fit = fit_debiased(lam, n=n)  # Gaussian plug-in: no fourth moments in one pass
    if cross is None:
        return fit, lam, None, None, float("nan"), float("nan")
    assert target_var is not None  # given together with cross
    e = mode_energies(lam, v, cross)
    total = float(np.sum(target_var))
    try:
        efit, chance = fit_target(lam, fit, e, total, n)
    except SpecurateInputError:
        if strict_target:
            raise
        return fit, lam, None, e, total, float("nan")
    return fit, lam, efit, e, total, chance


def estimate_spectrum_streaming(
    source: str | Path | np.ndarray | RowSource,
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
        source: a data file (``.npy``, memory-mapped; ``.parquet``, read batch by batch;
            ``.npz`` or ``.csv``, loaded first: :func:`specurate.io.open_rows`), an array, or an
            opened :class:`specurate.io.RowSource` (e.g. with a chosen feature column).
        y: optional in-memory targets / class labels, one per row.
        groups: jackknife groups G (0: no CI); memory is (G + 1) × the d×d matrix.
        ci: confidence level of the normal jackknife intervals.
        precision: ``"auto"`` accumulates float32 sources in mixed precision (float32 blocks
            folded into float64 every 4096 rows: relative error ~1e-7, at the level of the
            data's own rounding) and everything else in float64.
    """
    if groups == 1 or groups < 0:
        raise SpecurateInputError(f"groups must be 0 or at least 2, got {groups}.")
    src = open_rows(source, min_rows=MIN_EXAMPLES)
    if precision == "auto":
        precision = _auto_precision(src)
    yy = None if y is None else prepare_targets(y, task)
    mom = streaming_covariance(
        src,
        targets=yy,
        groups=groups,
        precision=precision,
        chunk_rows=chunk_rows,
        progress=progress,
    )
    report = report_from_moments(
        mom,
        ci=ci,
        extras={"ci_method": "grouped jackknife", "groups": groups, "precision": precision},
    )
    top = float(report.eigenvalues[0]) if report.eigenvalues.size else 0.0
    if 0.0 < top < np.finfo(np.float64).tiny:
        raise SpecurateInputError(
            f"{src.label}: its values are so small that the covariance eigenvalues fall below "
            f"float64's normal range (largest {top:.3g}); multiply the data by a constant (b, α "
            "and a do not change)."
        )
    return report


def report_from_moments(
    mom: StreamingCovariance,
    *,
    ci: float = 0.9,
    kernel: str = "linear",
    bandwidth: float | None = None,
    extras: dict | None = None,
) -> SpectrumReport:
    r"""The spectrum report (b, and a with targets, with delete-one-group jackknife CIs) of
    moments gathered in one pass — by :func:`streaming_covariance` or merged from partitions
    (:func:`specurate.spectrum.moments.grouped_covariance`).

    Args:
        mom: covariance (d, d) of the features, with ``cross`` (d, m) / ``target_var`` (m,) of
            prepared targets (:func:`specurate.spectrum.target.prepare_targets`) when given, and
            G ≥ 2 groups for CIs (G = 0: NaN intervals).
        ci: confidence level of the normal jackknife intervals.
        kernel: name of the operator the features represent (``"linear"``; ``"rbf"`` for
            Nyström features).
        bandwidth: the kernel's σ, recorded in the report.
        extras: recorded in ``SpectrumReport.extras``.
    """
    groups = mom.groups
    with_targets = mom.cross is not None
    fit, lam, efit, energies, total, chance = _exponents(
        mom.covariance, mom.cross, mom.target_var, mom.n
    )
    b = fit.b
    a = efit.a if efit is not None else float("nan")
    reps = np.full((groups, 3), np.nan)
    for g in range(groups):
        assert mom.group_count is not None  # set when groups > 0
        n_g = mom.n - int(mom.group_count[g])
        cross_g, var_g = mom.leave_one_out_targets(g) if with_targets else (None, None)
        try:
            fit_g, _, efit_g, *_ = _exponents(
                mom.leave_one_out(g), cross_g, var_g, n_g, strict_target=False
            )
        except SpecurateInputError:
            continue
        a_g = efit_g.a if efit_g is not None else np.nan
        reps[g] = (fit_g.b, a_g, (a_g - 1) / fit_g.b)
    b_ci = jackknife_ci(b, reps[:, 0], ci)
    target = None
    if with_targets:
        assert efit is not None and energies is not None  # fitted whenever there are targets
        target = TargetReport(
            energies=energies,
            total_energy=total,
            chance_energy=chance,
            a=a,
            log_c=efit.log_c,
            a_ci=jackknife_ci(a, reps[:, 1], ci),
            fit_range=efit.fit_range,
            learning_exponent=(a - 1) / b,
            learning_exponent_ci=jackknife_ci((a - 1) / b, reps[:, 2], ci),
        )
    return SpectrumReport(
        n=mom.n,
        d=mom.d,
        kernel=kernel,
        centered=mom.center,
        bandwidth=bandwidth,
        eigenvalues=lam,
        fit=fit,
        b_ci=b_ci,
        alpha_ci=(float("nan"), float("nan")),  # set from b_ci by SpectrumReport
        b_bootstrap_sd=float("nan"),
        bootstrap=groups,
        ci=ci,
        target=target,
        extras=dict(extras or {}),
    )
