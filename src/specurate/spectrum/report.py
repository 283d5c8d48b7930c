r"""What a spectrum estimate reports: the spectrum, its exponent b, and the target's a."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from specurate.spectrum.powerlaw import PowerLawFit

__all__ = ["SpectrumReport", "TargetReport"]


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
        eig_error_bound: relative error bound of a randomized kernel eigensolve (0 if exact).
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

    @property
    def b(self) -> float:
        return self.fit.b

    @property
    def alpha(self) -> float:
        return self.fit.alpha
