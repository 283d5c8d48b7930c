r"""What a spectrum estimate reports: the spectrum, its exponent b, and the target's a."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from specurate.spectrum.powerlaw import PowerLawFit, describe_shape

__all__ = ["SpectrumReport", "TargetReport", "unscale_report"]


@dataclass(frozen=True)
class TargetReport:
    r"""Target alignment: per-mode energy, its exponent a, and the learning-curve exponent.

    Attributes:
        energies: (r,) per-mode target energy e_k = λ_k w_k².
        total_energy: total target variance (sum over target columns).
        chance_energy: per-mode energy expected from label noise alone (subtracted before
            fitting a; see :func:`chance_energy`).
        a: energy exponent.
        log_c: the fitted intercept, e_k ≈ exp(log_c)·k^-a.
        a_ci: bootstrap confidence interval of a.
        fit_range: ranks used for a.
        learning_exponent: predicted loss exponent in time (a − 1)/b for gradient flow,
            L(t) ~ t^-(a-1)/b.
        learning_exponent_ci: confidence interval of ``learning_exponent``.
        a_binned: a from count-weighted (equal weight per mode) log-binned energies on the same
            ranks, beside the default inverse-variance a, which favours the high-energy head
            (NaN if not computed).
    """

    energies: np.ndarray
    total_energy: float
    chance_energy: float
    a: float
    log_c: float
    a_ci: tuple[float, float]
    fit_range: tuple[int, int]
    learning_exponent: float
    learning_exponent_ci: tuple[float, float]
    a_binned: float = float("nan")

    @property
    def a_range(self) -> tuple[float, float]:
        """(min, max) of a over the two weightings (inverse-variance, count): the weighting
        sensitivity of a, to report beside ``a_ci``."""
        vals = [v for v in (self.a, self.a_binned) if np.isfinite(v)]
        return (min(vals), max(vals)) if vals else (float("nan"), float("nan"))


@dataclass(frozen=True)
class SpectrumReport:
    """Spectrum of a data operator with power-law fit, bootstrap CIs and optional target.

    Attributes:
        n: number of examples.
        d: input dimension.
        kernel: operator setting, the kernel.
        centered: operator setting, whether the features were centered.
        bandwidth: operator setting, the RBF bandwidth σ (None for other kernels).
        eigenvalues: (r,) descending eigenvalues of the operator (T = K/n or XᵀX/n).
        fit: the :class:`PowerLawFit` on the full data.
        b_ci: bootstrap confidence interval (level ``ci``) of b.
        alpha_ci: bootstrap confidence interval (level ``ci``) of α = 1 + 1/b.
        b_bootstrap_sd: standard deviation of the replicates of b.
        bootstrap: number of replicates behind the CIs (jackknife groups or bootstrap
            resamples; 0: no CI).
        target: :class:`TargetReport` when labels were given.
        eig_error_bound: relative error bound on the eigenvalues of b's fit range, from a
            randomized kernel eigensolve or Nyström features (largest trace_gap / (λ̃_k +
            trace_gap) over that range; 0 if exact).

    The shape of the spectrum (issue 13) is derived from ``fit`` and ``b_ci``:
    :attr:`b_range` (range sensitivity), :attr:`b_ci_total`, :attr:`shape`,
    :attr:`single_power_law` and :attr:`shape_note`; the local slopes are ``fit.local_slopes``.
    """

    n: int
    d: int
    kernel: str
    centered: bool
    bandwidth: float | None
    eigenvalues: np.ndarray
    fit: PowerLawFit
    b_ci: tuple[float, float]
    alpha_ci: tuple[float, float]
    b_bootstrap_sd: float
    bootstrap: int
    ci: float
    target: TargetReport | None = None
    eig_error_bound: float = 0.0
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """α = 1 + 1/b only where b > 0, and its interval only where b's lies above 0: no
        interval that excludes its own estimate. Otherwise ``alpha`` / ``alpha_ci`` are NaN
        and ``extras["alpha_note"]`` says why (JSON: null beside the reason)."""
        b, (lo, hi) = self.fit.b, self.b_ci
        note = ""
        if not (math.isfinite(b) and b > 0):
            note = (
                f"α = 1 + 1/b is not defined: b = {b:.3g} ≤ 0, no power-law decay of the "
                "eigenvalues (isotropic or flat spectrum)."
                if math.isfinite(b)
                else "α = 1 + 1/b is not defined: no exponent b was fitted."
            )
            alpha_ci = (math.nan, math.nan)
        elif math.isfinite(lo) and math.isfinite(hi) and lo > 0:
            alpha_ci = (1.0 + 1.0 / hi, 1.0 + 1.0 / lo)
        else:
            alpha_ci = (math.nan, math.nan)
            if math.isfinite(lo) and math.isfinite(hi):
                note = (
                    f"the interval of α = 1 + 1/b is not defined: b's interval "
                    f"[{lo:.3g}, {hi:.3g}] reaches b ≤ 0 (no decay)."
                )
        object.__setattr__(self, "alpha_ci", alpha_ci)
        if note:
            self.extras["alpha_note"] = note

    @property
    def b(self) -> float:
        return self.fit.b

    @property
    def alpha(self) -> float:
        return self.fit.alpha

    @property
    def b_range(self) -> tuple[float, float]:
        """(min, max) of b over alternative fit ranges (k_min, k_max moved by ±25 %), reported
        beside the statistical ``b_ci``: the range uncertainty
        (:func:`~specurate.spectrum.powerlaw.range_spread`)."""
        return self.fit.b_range

    @property
    def b_ci_total(self) -> tuple[float, float]:
        """Hull (smallest interval containing both) of the statistical ``b_ci`` and the range
        spread ``b_range``; with no finite CI, the hull of b and ``b_range``."""
        parts = [v for v in (*self.b_ci, *self.fit.b_range, self.fit.b) if np.isfinite(v)]
        if not parts:
            return (float("nan"), float("nan"))
        return (float(min(parts)), float(max(parts)))

    @property
    def shape(self) -> str:
        """``"power law"`` or ``"bent: cutoff favoured"``
        (:func:`~specurate.spectrum.powerlaw.describe_shape`: model comparison and drift of
        the local slopes)."""
        return describe_shape(self.fit, self.b_ci)[0]

    @property
    def single_power_law(self) -> bool:
        """Whether one exponent b describes the fit range (``shape == "power law"``)."""
        return self.shape == "power law"

    @property
    def shape_note(self) -> str:
        """One sentence saying whether a single b describes the data, and how to read b."""
        return describe_shape(self.fit, self.b_ci)[1]


def unscale_report(report: SpectrumReport, k: int, *, source: str = "data") -> SpectrumReport:
    """The report of data x from the report of x·2^k
    (:func:`~specurate.spectrum.features.scaled_data`): linear eigenvalues, the noise floor
    and the fit's intercept scaled back by 2^(−2k), an RBF bandwidth by 2^(−k); b, α, a, the
    target energies and every interval do not depend on the scale."""
    if k == 0:
        return report
    from dataclasses import replace

    from specurate.spectrum.features import unscale_eigenvalues

    if report.kernel != "linear":
        bw = report.bandwidth
        return replace(report, bandwidth=None if bw is None else float(np.ldexp(bw, -k)))
    lam = unscale_eigenvalues(report.eigenvalues, k, report.kernel, source)
    f = report.fit
    fit = replace(
        f,
        floor=float(np.ldexp(f.floor, -2 * k)),
        log_c=f.log_c - 2 * k * math.log(2.0),
    )
    return replace(report, eigenvalues=lam, fit=fit)
