r"""Mode-space model of learning: spectrum λ_k, target energy e_k, example mass p_k, learning law.

A problem is N modes with operator eigenvalues λ_1 ≥ … ≥ λ_N > 0, target energy per mode
e_k = λ_k w_k² ≥ 0 (w_k the target coefficient), and the example *mass* p_k (Σ p_k = 1) that
fixes the **budget convention** of every curation policy: a policy's mode weights ω_k ≥ 0 must
satisfy Σ_k p_k ω_k = 1 (sampling weights with ∫ w dμ = 1).

* ``budget="operator"``: p_k ∝ λ_k. Weights preserve the trace of the curated operator,
  Σ ω_k λ_k = Σ λ_k (theory.md §3). This is the exact example mass of mode-local data whose
  spectrum comes from how often each mode occurs (cluster k holds a fraction λ_k/Σλ of the data).
* ``budget="mass"``: p_k = 1/N. Every mode holds the same example mass and its eigenvalue comes
  from feature scale, so freeing the learned modes frees little budget.

Learning law (:class:`LearningLaw`): in the clock s = t^β, mode k's exponent grows as
dg_k/ds = c (ω_k λ_k)^α, and its relative residual is u_k = e^{-g_k}. Without curation
(ω = 1) this is the paper's g = c λ^α t^β; α = β = c = 1 is gradient flow on a kernel/linear
model. Test loss is always on the original distribution: L(t) = Σ_k e_k u_k(t)².

Tail closure (power laws with a, b > 1 under the operator budget): modes k > N are kept as an
analytic remainder that follows the last simulated mode, g_k = g_N (N/k)^{bα}; its energy is
:meth:`Modes.remainder_energy` and its mass ``p_rem`` enters the budget. The simulated problem is
then the infinite one as long as the frontier stays well inside N (results record
``k_star/N``). Without closure the problem is exactly the N given modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from specurate._validate import check_int, check_positive
from specurate.errors import SpecurateInputError

Budget = Literal["operator", "mass"]
BUDGETS: tuple[str, ...] = ("operator", "mass")
#: fewest modes of a problem (no power law can be seen on fewer)
MIN_MODES = 10


@dataclass(frozen=True)
class LearningLaw:
    r"""Per-mode learning law dg_k/ds = c (ω_k λ_k)^α in the clock s = t^β.

    Attributes:
        c: rate constant (> 0).
        alpha: eigenvalue exponent α (> 0); the frontier moves as λ*(t) ~ t^{-ρ}, ρ = β/α.
        beta: time exponent β (> 0).
    """

    c: float = 1.0
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        for name in ("c", "alpha", "beta"):
            check_positive(f"learning law: {name}", getattr(self, name))

    @property
    def rho(self) -> float:
        """Frontier eigenvalue exponent ρ = β/α of λ*(t) ~ t^{-ρ}."""
        return self.beta / self.alpha

    def clock(self, t: np.ndarray | float) -> np.ndarray:
        """s = t^β."""
        return np.asarray(t, dtype=float) ** self.beta

    def time(self, s: np.ndarray | float) -> np.ndarray:
        """t = s^{1/β}."""
        return np.asarray(s, dtype=float) ** (1.0 / self.beta)

    def rate(self, lam: np.ndarray, omega: np.ndarray | float) -> np.ndarray:
        """dg/ds = c (ω λ)^α, shape of ``lam``."""
        x = np.asarray(omega, dtype=float) * lam
        if self.alpha != 1.0:
            x = x**self.alpha
        return self.c * x if self.c != 1.0 else x


@dataclass(frozen=True)
class Modes:
    r"""A mode-space problem (see the module docstring).

    Attributes:
        lam: (N,) eigenvalues, non-increasing, > 0.
        energy: (N,) target energy e_k = λ_k w_k² ≥ 0 (loss at t = 0 is Σ e_k + remainder).
        mass: (N,) example mass p_k ≥ 0; ``mass.sum() + p_rem == 1``.
        budget: the convention that set ``mass``.
        a: target exponent when the problem is a power law (None for measured spectra).
        b: spectral exponent when the problem is a power law (None for measured spectra).
        source: a short description.
        p_rem: mass of the analytic tail beyond N (0 without closure).
        e_rem: energy of the analytic tail beyond N (0 without closure).
    """

    lam: np.ndarray
    energy: np.ndarray
    mass: np.ndarray
    budget: Budget
    a: float | None = None
    b: float | None = None
    source: str = "power law"
    p_rem: float = 0.0
    e_rem: float = 0.0

    @property
    def n_modes(self) -> int:
        return int(self.lam.size)

    @property
    def closed(self) -> bool:
        """True when the tail beyond N is carried analytically."""
        return self.e_rem > 0 or self.p_rem > 0

    @property
    def total_energy(self) -> float:
        """L(0) = Σ e_k (+ remainder)."""
        return float(self.energy.sum() + self.e_rem)

    def remainder_energy(self, g_last: np.ndarray | float, law: LearningLaw) -> np.ndarray:
        r"""Loss of the modes k > N when the last simulated mode has exponent ``g_last``.

        Σ_{k>N} k^{-a} exp(-2 g_N (N/k)^{bα}) by the integral from N+½ (lower incomplete
        gamma), scaled so that g_N = 0 gives ζ(a, N+1) exactly. Zero without closure.
        """
        g = np.asarray(g_last, dtype=float)
        if not self.closed or self.a is None or self.b is None:
            return np.zeros_like(g)
        n = self.n_modes
        ba = self.b * law.alpha
        sexp = (self.a - 1.0) / ba
        q = 2.0 * np.maximum(g, 0.0) * n**ba
        y0 = q * (n + 0.5) ** (-ba)
        base = (n + 0.5) ** (1.0 - self.a) / (self.a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            full = special.gamma(sexp) * special.gammainc(sexp, y0) * q ** (-sexp) / ba
        ratio = np.where(q > 1e-300, full / base, 1.0)
        return self.e_rem * np.clip(ratio, 0.0, 1.0)

    def tail_sum(self, power: float, coef: float, g_last: float, law: LearningLaw) -> float:
        r"""Σ_{k>N} (k/N)^{-power} exp(−coef·g_N (N/k)^{bα}) over the analytic tail (power > 1).

        The tail's modes follow g_k = g_N (N/k)^{bα}; a per-mode quantity that is a power of k
        times e^{−coef·g_k} (the tail's example mass times a policy's weight, its energy) sums
        to this times its value at mode N without the exponential. Integral from N+½ (lower
        incomplete gamma) scaled so that g_N = 0 gives N^{power} ζ(power, N+1) exactly.
        0 without closure.
        """
        if not self.closed or self.b is None or not power > 1.0:
            return 0.0
        n = self.n_modes
        exact0 = float(special.zeta(power, n + 1)) * n**power
        q = coef * max(float(g_last), 0.0)
        if q <= 0.0:
            return exact0
        ba = self.b * law.alpha
        sexp = (power - 1.0) / ba
        big_q = q * n**ba
        y0 = big_q * (n + 0.5) ** (-ba)
        base = (n + 0.5) ** (1.0 - power) / (power - 1.0)
        full = (
            special.gamma(sexp) * special.gammainc(sexp, y0) * big_q ** (-sexp) / ba
            if big_q > 1e-300
            else base
        )
        return exact0 * min(max(float(full / base), 0.0), 1.0)

    def remainder_learned(self, g_last: np.ndarray | float, kappa: float, law: LearningLaw):
        """Number of modes k > N with g_k ≥ κ (continuous): N((g_N/κ)^{1/(bα)} − 1)⁺."""
        g = np.asarray(g_last, dtype=float)
        if not self.closed or self.b is None:
            return np.zeros_like(g)
        ratio = np.maximum(g, 0.0) / kappa
        with np.errstate(divide="ignore"):
            extra = self.n_modes * (ratio ** (1.0 / (self.b * law.alpha)) - 1.0)
        return np.maximum(extra, 0.0)


def check_exponents(a: float, b: float) -> None:
    """b > 0 (a decaying spectrum) and a > 1 (finite target energy), with one-sentence errors."""
    if not np.isfinite(b) or b <= 0:
        raise SpecurateInputError(f"the spectral exponent b must be > 0, got b = {b}")
    if not np.isfinite(a) or a <= 1:
        raise SpecurateInputError(
            f"the target exponent a must be > 1 (finite target energy), got a = {a}"
        )


def power_law_modes(
    a: float,
    b: float,
    *,
    n_modes: int = 1_000_000,
    budget: Budget = "operator",
    closure: bool = True,
) -> Modes:
    r"""Pure power-law problem λ_k = k^{-b}, e_k = k^{-a}, k = 1..N.

    Args:
        a: target energy exponent (> 1).
        b: spectral exponent (> 0).
        n_modes: N ≥ 10.
        budget: ``"operator"`` (p_k = λ_k/Σλ) or ``"mass"`` (p_k = 1/N).
        closure: carry the modes beyond N analytically (only possible for b > 1 under the
            operator budget, where Σλ converges; otherwise the problem is the N modes).

    Returns:
        :class:`Modes` with ``a``, ``b`` recorded.
    """
    check_exponents(a, b)
    check_int("n_modes", n_modes, lo=MIN_MODES)
    if budget not in BUDGETS:
        raise SpecurateInputError(f"budget must be one of {BUDGETS}, got {budget!r}")
    k = np.arange(1, int(n_modes) + 1, dtype=float)
    lam = k**-b
    energy = k**-a
    closed = closure and budget == "operator" and b > 1
    e_rem = float(special.zeta(a, n_modes + 1)) if closed else 0.0
    lam_rem = float(special.zeta(b, n_modes + 1)) if closed else 0.0
    if budget == "operator":
        total = lam.sum() + lam_rem
        mass = lam / total
        p_rem = lam_rem / total
    else:
        mass = np.full(k.size, 1.0 / k.size)
        p_rem = 0.0
    return Modes(lam, energy, mass, budget, float(a), float(b), "power law", p_rem, e_rem)


def modes_from_arrays(
    lam: np.ndarray,
    energy: np.ndarray,
    *,
    budget: Budget = "operator",
    source: str = "arrays",
    rescale: bool = True,
) -> Modes:
    r"""A problem from a measured spectrum and per-mode target energies (no tail closure).

    With ``rescale`` (default) the eigenvalues are divided by λ_1, as for
    :func:`power_law_modes`: time is then measured in units of the top mode's learning time
    1/λ_1 (the learning rate absorbs the scale of the operator). ``rescale=False`` keeps the
    given scale (time in the units of the given λ).

    Args:
        lam: (N,) positive eigenvalues (sorted here, descending, energies follow).
        energy: (N,) non-negative target energies e_k.
        budget: budget convention.
        source: description kept in results.
    """
    lam = np.asarray(lam, dtype=float).ravel()
    energy = np.asarray(energy, dtype=float).ravel()
    if lam.shape != energy.shape:
        raise SpecurateInputError(
            f"eigenvalues ({lam.size}) and target energies ({energy.size}) differ in length"
        )
    check_int("the number of modes", lam.size, lo=MIN_MODES)
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(energy))):
        raise SpecurateInputError("eigenvalues and energies must be finite")
    if np.any(lam <= 0):
        raise SpecurateInputError("eigenvalues must be > 0 (drop null directions first)")
    if np.any(energy < 0):
        raise SpecurateInputError("target energies must be ≥ 0")
    if budget not in BUDGETS:
        raise SpecurateInputError(f"budget must be one of {BUDGETS}, got {budget!r}")
    order = np.argsort(-lam, kind="stable")
    lam, energy = lam[order] / (lam.max() if rescale else 1.0), energy[order]
    mass = lam / lam.sum() if budget == "operator" else np.full(lam.size, 1.0 / lam.size)
    return Modes(lam, energy, mass, budget, None, None, source)


def modes_from_spectrum(report, *, budget: Budget = "operator") -> Modes:
    """A problem from a :class:`~specurate.spectrum.estimate.SpectrumReport` with a target.

    Uses the report's eigenvalues and per-mode energies (positive eigenvalues only), so a user
    simulates curation on the measured spectrum of their own data.
    """
    if report.target is None:
        raise SpecurateInputError("the spectrum report has no target: estimate it with labels")
    lam = np.asarray(report.eigenvalues, dtype=float)
    energy = np.asarray(report.target.energies, dtype=float)
    r = min(lam.size, energy.size)
    lam, energy = lam[:r], energy[:r]
    keep = lam > lam.max() * 1e-12
    return modes_from_arrays(
        lam[keep], energy[keep], budget=budget, source=f"measured ({report.kernel})"
    )
