r"""RBF kernel spectra at scale: Nyström landmark features with a proved error bound.

The exact RBF operator of n examples is the (n, n) Gram matrix over n,
:math:`T = K/n` with :math:`K_{ij} = k(x_i, x_j) = \exp(-\|x_i - x_j\|^2 / (2\sigma^2))`, or
its centered version :math:`T = HKH/n`, :math:`H = I - \mathbf 1 \mathbf 1^\top / n` — the
operator of :func:`specurate.spectrum.estimate.estimate_spectrum` with ``kernel="rbf"``, whose
eigenvalues are those of ``center_gram(K) / n``. It needs O(n²) memory and O(n³) time.

**Nyström features.** Pick m landmarks :math:`z_1, \dots, z_m` among the rows, let
:math:`K_{mm} = (k(z_a, z_b))` (m, m) and :math:`k_m(x) = (k(x, z_a))_a` (m,). With the
eigendecomposition :math:`K_{mm} = U \Lambda U^\top` keep the r eigenvalues
:math:`\lambda_j > \tau\,\lambda_{\max}` (relative cutoff :math:`\tau = 10^{-10}`, see below) and
set the whitener :math:`W = \Lambda_r^{-1/2} U_r^\top` (r, m) and the features

.. math::  \varphi(x) = W\, k_m(x) \in \mathbb R^r, \qquad
           \tilde K = \Phi \Phi^\top = K_{nm}\, U_r \Lambda_r^{-1} U_r^\top K_{mn}
           \quad (\Phi \text{ of shape } (n, r)).

Without truncation (:math:`\tau = 0`) this is the Nyström approximation
:math:`K_{nm} K_{mm}^{+} K_{mn}`. The approximate operator :math:`\tilde T = H\tilde K H/n`
(:math:`\tilde K/n` uncentered) has the same non-zero eigenvalues as the (r, r) covariance
(second-moment matrix) of the features, :math:`\Phi_c^\top \Phi_c / n` with
:math:`\Phi_c = H\Phi` (:math:`\Phi_c\Phi_c^\top/n = H\tilde K H/n`), which one streaming pass
accumulates (:func:`specurate.spectrum.streaming.streaming_covariance`) in O(r²) memory.

**Error bound (deterministic, for every choice of landmarks).**

1. :math:`K - \tilde K \succeq 0`. The (n + m)-point Gram matrix
   :math:`\begin{pmatrix} K & K_{nm} \\ K_{mn} & K_{mm}\end{pmatrix}` is positive
   semi-definite, so its generalized Schur complement :math:`K - K_{nm} K_{mm}^{+} K_{mn}` is
   too (equivalently, :math:`K_{mm}^+`-Nyström is the Gram matrix of the RKHS projections
   :math:`P k(\cdot, x_i)` onto :math:`\operatorname{span}\{k(\cdot, z_a)\}`, and
   :math:`K - \tilde K` is the Gram matrix of the orthogonal remainders). Truncation only
   removes positive terms: :math:`U_r \Lambda_r^{-1} U_r^\top \preceq K_{mm}^{+}`, hence
   :math:`\tilde K \preceq K_{nm} K_{mm}^{+} K_{mn} \preceq K`.
2. :math:`T - \tilde T \succeq 0`: it is :math:`(K - \tilde K)/n` or :math:`H(K - \tilde K)H/n`,
   and :math:`H M H \succeq 0` whenever :math:`M \succeq 0`.
3. Weyl's inequality (Courant–Fischer) for :math:`T = \tilde T + E`, :math:`E \succeq 0`:
   :math:`\lambda_k(\tilde T) \le \lambda_k(T) \le \lambda_k(\tilde T) + \lambda_1(E)`, and
   :math:`\lambda_1(E) \le \operatorname{tr} E`.
4. :math:`\sum_{k=1}^{n} (\lambda_k(T) - \lambda_k(\tilde T)) = \operatorname{tr} E \le
   \operatorname{tr}(K - \tilde K)/n`, because
   :math:`\operatorname{tr}(HMH) = \operatorname{tr} M - \mathbf 1^\top M \mathbf 1/n \le
   \operatorname{tr} M` for :math:`M \succeq 0`.

With the per-example residual :math:`\rho(x) = k(x, x) - \|\varphi(x)\|^2 = 1 -
\|\varphi(x)\|^2 \ge 0` (the diagonal of :math:`K - \tilde K`), the reported

.. math::  \text{trace\_gap} = \frac1n \sum_{i=1}^n \rho(x_i)
           = \operatorname{tr}(K - \tilde K)/n

bounds **every** eigenvalue's error, :math:`0 \le \lambda_k(T) - \tilde\lambda_k \le
\text{trace\_gap}` (:math:`\tilde\lambda_k = 0` for k > r), and also their sum over all n
ranks, reported ranks and the unreported tail together. ``relative_trace_gap`` is
trace_gap / tr(T): tr(T) = 1 exactly uncentered; centered, tr(T) is not known without
:math:`\mathbf 1^\top K \mathbf 1`, and trace_gap / tr(:math:`\tilde T`) ≥ trace_gap / tr(T)
(since tr :math:`\tilde T` ≤ tr T) is reported, an upper bound of the relative size. The
relative error of one eigenvalue obeys :math:`(\lambda_k - \tilde\lambda_k)/\lambda_k \le
\text{trace\_gap}/(\tilde\lambda_k + \text{trace\_gap})` (the left side grows with
:math:`\lambda_k \le \tilde\lambda_k + \text{trace\_gap}`); its maximum over the fit range of
b is the report's ``eig_error_bound``. The bound is conditional on the landmarks and holds
for every draw; the jackknife intervals measure the sampling variability of the examples
with the landmarks fixed.

**Numerics.** Distances are computed after subtracting the landmarks' mean c (the kernel is
translation invariant), so :math:`\|x-c\|^2 + \|z-c\|^2 - 2(x-c)^\top(z-c)` does not cancel
when the data sit far from the origin. The cutoff :math:`\tau = 10^{-10}` balances two
effects: dropping the eigenvalues below :math:`\tau\lambda_{\max}` lowers
:math:`\|\varphi(x)\|^2` by about :math:`\tau\lambda_{\max}/m` per dropped direction on
average (a loss the reported trace_gap already contains, so the bound stays valid), while the
whitener amplifies the rounding of :math:`k_m(x)` (~:math:`\sqrt m\,\epsilon`) by
:math:`\|W\| = \lambda_r^{-1/2} \le (\tau\lambda_{\max})^{-1/2}`; with :math:`1 \le
\lambda_{\max} \le m` the two are comparable near :math:`\tau\lambda_{\max} \approx
(\sqrt m\,\epsilon)^{2/3} \approx 10^{-10}` for m ~ 10³.
:attr:`NystromMap.residual_tol` is a first-order worst-case bound on the rounding of
:math:`1 - \|\varphi(x)\|^2`,

.. math::  \text{tol} = \epsilon\Big(8 m \lambda_{\max}
           + 2\sqrt{m/\lambda_r}\,\big(1 + 2(d + 2)(1 + 3\gamma R^2)\big)
           + 2 m^{3/2} \sqrt{r/\lambda_r}\Big),

(ε = 2⁻⁵², γ = 1/(2σ²), R = max_a ‖z_a − c‖): the eigensolver's backward error
:math:`\|\delta K_{mm}\| \lesssim m\epsilon\lambda_{\max}` changes :math:`\|\varphi\|^2` by
at most about 4 times that; a kernel value's rounding is at most
:math:`\epsilon(1 + 2(d+2)\,k\,\gamma(\|x-c\|^2 + \|z-c\|^2)) \le \epsilon(1 + 2(d+2)(1 +
3\gamma R^2))` (using :math:`\|x-c\|^2 \le 2R^2 + 2\|x-z\|^2` and
:math:`t e^{-t} \le 1/e`) and reaches :math:`\|\varphi\|^2` through :math:`2\|W\|\sqrt m`; the
product :math:`W k_m` adds at most :math:`m\epsilon\,\|W\|_F\|k_m\| \le
m^{3/2}\epsilon\sqrt{r/\lambda_r}` to :math:`\varphi`. This is a worst-case bound (the
rounding seen in practice is orders of magnitude smaller). A computed residual in [−tol, 0) is
rounding of a true value ≥ 0 and is set to 0 — which can only raise trace_gap, so a loose tol
never weakens the bound; a value below −tol cannot come from rounding and is returned as it is
(:func:`kernel_spectrum_nystrom` raises).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from specurate import _rng
from specurate._validate import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_positive_int,
    check_real,
    check_seed,
)
from specurate.errors import SpecurateInputError
from specurate.io import RowSource, check_finite, check_same_length, open_rows, read_rows
from specurate.spectrum.features import MIN_EXAMPLES
from specurate.spectrum.large import report_from_moments
from specurate.spectrum.operators import median_bandwidth, rbf_gamma
from specurate.spectrum.report import SpectrumReport
from specurate.spectrum.streaming import StreamingCovariance, streaming_covariance
from specurate.spectrum.target import prepare_targets

__all__ = ["CUTOFF", "SAMPLE_ROWS", "NystromMap", "kernel_spectrum_nystrom"]

#: eigenvalues of K_mm at or below CUTOFF·λ_max are dropped from the whitener (module docstring)
CUTOFF = 1e-10
#: rows read for the landmark draw and the median bandwidth: max(landmarks, SAMPLE_ROWS)
SAMPLE_ROWS = 2000
#: kernel values (rows × landmarks) computed at once by :meth:`NystromMap.transform` (8 MiB)
_BLOCK_VALUES = 1 << 20
_EPS = float(np.finfo(np.float64).eps)


def _check_matrix(name: str, x: np.ndarray, min_rows: int) -> np.ndarray:
    """A finite real (k, d) matrix with at least ``min_rows`` rows, as float64."""
    a = np.asarray(x)
    if a.ndim != 2 or a.shape[1] < 1:
        raise SpecurateInputError(
            f"{name} must be a 2-D array (examples × features), got shape {a.shape}."
        )
    if a.dtype.kind not in "biuf":
        raise SpecurateInputError(f"{name} must hold real numbers, got dtype {a.dtype}.")
    if a.shape[0] < min_rows:
        raise SpecurateInputError(f"{name} has {a.shape[0]} rows; at least {min_rows} are needed.")
    a = a.astype(np.float64, copy=False)
    check_finite(a, name)
    return a


def _rbf_block(xc: np.ndarray, zc: np.ndarray, sq_z: np.ndarray, gamma: float) -> np.ndarray:
    r""":math:`\exp(-\gamma \|x - z\|^2)` (k, m) of centered rows ``xc`` (k, d) and ``zc`` (m, d)
    with :math:`\|z\|^2` = ``sq_z`` (m,)."""
    d2 = np.einsum("ij,ij->i", xc, xc)[:, None] + sq_z[None, :]
    d2 -= 2.0 * (xc @ zc.T)
    np.clip(d2, 0.0, None, out=d2)
    with np.errstate(over="ignore", under="ignore"):  # far points: kernel value 0
        d2 *= -gamma
        np.exp(d2, out=d2)
    return d2


@dataclass(frozen=True, eq=False)
class NystromMap:
    r"""The Nyström feature map :math:`\varphi(x) = W k_m(x)` of an RBF kernel (see module).

    Pure data (numpy arrays and floats): picklable, so it can be shipped to workers.

    Attributes:
        landmarks: (m, d) float64 landmark rows :math:`z_a`.
        bandwidth: σ of :math:`k(x, z) = \exp(-\|x - z\|^2/(2\sigma^2))`.
        whitener: (r, m) :math:`W = \Lambda_r^{-1/2} U_r^\top` from
            :math:`K_{mm} = U\Lambda U^\top`, rows by descending eigenvalue.
        center: (d,) the landmarks' mean c, subtracted before distances are computed.
        kmm_eigenvalues: (r,) the kept eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_r >
            \text{CUTOFF}\cdot\lambda_1` of :math:`K_{mm}`.
        residual_tol: first-order worst-case rounding bound of :math:`1 - \|\varphi(x)\|^2`
            (module docstring, "Numerics").
    """

    landmarks: np.ndarray
    bandwidth: float
    whitener: np.ndarray
    center: np.ndarray
    kmm_eigenvalues: np.ndarray
    residual_tol: float

    @property
    def m(self) -> int:
        """Number of landmarks."""
        return int(self.landmarks.shape[0])

    @property
    def rank(self) -> int:
        """r, the number of features (kept eigenvalues of :math:`K_{mm}`)."""
        return int(self.whitener.shape[0])

    @classmethod
    def fit(
        cls,
        sample: np.ndarray,
        *,
        landmarks: int = 1000,
        bandwidth: float | None = None,
        seed: int = 0,
    ) -> NystromMap:
        r"""Draw landmarks from ``sample`` and build the map.

        The landmarks are the first m rows of a uniformly random permutation of the sample
        (stream ``"nystrom.landmarks"``), i.e. m rows drawn uniformly without replacement, all
        of them when s ≤ m; for one seed and sample the sets are nested as m grows, so the
        approximation (and trace_gap) can only improve with m.

        Args:
            sample: (s, d) rows, s ≥ 2, finite.
            landmarks: m, the number of landmarks (≥ 1).
            bandwidth: σ > 0; default the median pairwise distance of the sample
                (:func:`specurate.spectrum.operators.median_bandwidth`, at most 2000 rows).
            seed: seed of the landmark draw (and of the bandwidth subsample).

        Returns:
            The map, with r ≤ min(m, s) features.

        Raises:
            SpecurateInputError: non-finite or malformed sample, landmarks < 1, bandwidth ≤ 0
                (or all sample rows equal, with the median bandwidth).
        """
        m = check_positive_int("landmarks", landmarks)
        seed = check_seed(seed)
        sigma = None if bandwidth is None else check_positive("bandwidth", bandwidth)
        x = _check_matrix("sample", sample, 2)
        rng = _rng.stream("nystrom.landmarks", seed)
        return cls.from_sample(x, m, sigma, rng, seed)

    @classmethod
    def from_sample(
        cls,
        x: np.ndarray,
        m: int,
        sigma: float | None,
        rng: np.random.Generator,
        seed: int,
    ) -> NystromMap:
        """The map of landmarks drawn from a checked (s, d) sample ``x``: the first m of a
        random permutation of its rows drawn from ``rng`` (all when s ≤ m); σ the median
        heuristic on ``x`` when None."""
        s = x.shape[0]
        pick = rng.permutation(s)[:m] if m < s else np.arange(s)
        if sigma is None:
            sigma = median_bandwidth(x, seed=seed)
        return cls.from_landmarks(x[pick], bandwidth=sigma)

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, *, bandwidth: float) -> NystromMap:
        r"""The map of given landmarks: eigendecompose :math:`K_{mm}` (m, m) and whiten.

        :math:`K_{mm} = U\Lambda U^\top` (LAPACK ``syevd``, O(m³)); the whitener is
        :math:`W = \Lambda_r^{-1/2}U_r^\top` over the eigenvalues
        :math:`\lambda_j > \text{CUTOFF}\cdot\lambda_{\max}`.

        Args:
            landmarks: (m, d) finite rows (m ≥ 1).
            bandwidth: σ > 0.
        """
        sigma = check_positive("bandwidth", bandwidth)
        z = _check_matrix("landmarks", landmarks, 1).copy()
        m, d = z.shape
        gamma = rbf_gamma(sigma)
        c = z.mean(axis=0)
        zc = z - c
        sq_z = np.einsum("ij,ij->i", zc, zc)
        kmm = _rbf_block(zc, zc, sq_z, gamma)
        kmm = 0.5 * (kmm + kmm.T)
        np.fill_diagonal(kmm, 1.0)  # k(z, z) = 1 exactly
        with threadpool_limits(limits=1 if m <= 2048 else None, user_api="blas"):
            lam, u = scipy.linalg.eigh(kmm, check_finite=False, driver="evd")
        lam, u = lam[::-1], u[:, ::-1]
        keep = lam > CUTOFF * lam[0]
        lam_r = np.ascontiguousarray(lam[keep])
        w = np.ascontiguousarray((u[:, keep] / np.sqrt(lam_r)).T)
        lam_max, lam_min = float(lam[0]), float(lam_r[-1])
        r = int(lam_r.size)
        r2 = float(sq_z.max())
        tol = _EPS * (
            8.0 * m * lam_max
            + 2.0 * math.sqrt(m / lam_min) * (1.0 + 2.0 * (d + 2) * (1.0 + 3.0 * gamma * r2))
            + 2.0 * m**1.5 * math.sqrt(r / lam_min)
        )
        return cls(z, float(sigma), w, c, lam_r, float(tol))

    def _raw(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (k, r), unclipped residuals (k,)) of a checked float64 chunk, in blocks."""
        k = chunk.shape[0]
        gamma = rbf_gamma(self.bandwidth)
        zc = self.landmarks - self.center
        sq_z = np.einsum("ij,ij->i", zc, zc)
        out = np.empty((k, self.rank))
        rows = max(1, _BLOCK_VALUES // self.m)
        for r0 in range(0, k, rows):
            xc = chunk[r0 : r0 + rows] - self.center
            np.matmul(_rbf_block(xc, zc, sq_z, gamma), self.whitener.T, out=out[r0 : r0 + rows])
        res = 1.0 - np.einsum("ij,ij->i", out, out)
        return out, res

    def _checked(self, chunk: np.ndarray) -> np.ndarray:
        x = _check_matrix("chunk", chunk, 0)
        if x.shape[1] != self.landmarks.shape[1]:
            raise SpecurateInputError(
                f"chunk has {x.shape[1]} columns but the landmarks have {self.landmarks.shape[1]}."
            )
        return x

    def _clip(self, res: np.ndarray) -> np.ndarray:
        """Set residuals in [−tol, 0) to 0 (rounding of a true value ≥ 0)."""
        res[(res < 0.0) & (res >= -self.residual_tol)] = 0.0
        return res

    def transform(self, chunk: np.ndarray) -> np.ndarray:
        r"""Nyström features :math:`\Phi = k_m(X) W^\top` of a chunk of rows.

        Args:
            chunk: (k, d) finite rows.

        Returns:
            (k, r) float64 features, :math:`\Phi_{ia} = \sum_b W_{ab}\, k(x_i, z_b)`. Kernel
            values are formed in blocks of at most 2²⁰ values (8 MiB).
        """
        return self._raw(self._checked(chunk))[0]

    def residual(self, chunk: np.ndarray) -> np.ndarray:
        r"""Per-row residual :math:`\rho(x) = k(x, x) - \|\varphi(x)\|^2 = 1 - \|\varphi(x)\|^2`.

        The diagonal of :math:`K - \tilde K \succeq 0`, so ≥ 0 in exact arithmetic; computed
        values in [−``residual_tol``, 0) are set to 0, anything lower is returned unchanged.

        Args:
            chunk: (k, d) finite rows.

        Returns:
            (k,) float64 residuals; their mean over the data is the trace_gap bound.
        """
        return self._clip(self._raw(self._checked(chunk))[1])


def sample_indices(
    n: int, landmarks: int, seed: int
) -> tuple[np.ndarray | None, np.random.Generator]:
    """The rows of the landmark sample: a sorted uniform subset of s = min(n, max(m,
    SAMPLE_ROWS)) of the n row indices (None: all rows), and the random stream
    (``"nystrom.landmarks"``) to continue with :meth:`NystromMap.from_sample`. Every engine
    draws the same rows for the same seed."""
    rng = _rng.stream("nystrom.landmarks", seed)
    s = min(n, max(landmarks, SAMPLE_ROWS))
    return (None if s == n else np.sort(rng.choice(n, s, replace=False))), rng


@dataclass
class ResidualTally:
    """Running sums of the Nyström residuals ρ(x) = 1 − ‖φ(x)‖² of the rows mapped so far.

    Attributes:
        total: Σ ρ(x_i) after clipping rounding-level negatives to 0.
        rows: rows seen.
        worst: the most negative raw residual (0 if none).
    """

    total: float = 0.0
    rows: int = 0
    worst: float = 0.0

    def merge(self, other: ResidualTally) -> ResidualTally:
        """The tally of both row sets."""
        return ResidualTally(
            self.total + other.total, self.rows + other.rows, min(self.worst, other.worst)
        )


def feature_rows(
    src: RowSource, nmap: NystromMap, *, chunk_rows: int | None = None
) -> tuple[RowSource, ResidualTally, int]:
    """The Nyström features of a row source, as a row source read lazily, the residual tally
    it fills while it is read, and the rows per chunk to read it with (about 2²⁰ / m)."""
    tally = ResidualTally()

    def features(rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for r0, chunk in src.chunks(rows):
            xb = np.asarray(chunk, dtype=np.float64)
            check_finite(xb, src.label, row0=r0)
            phi, res = nmap._raw(xb)
            if res.size:
                tally.worst = min(tally.worst, float(res.min()))
            tally.total += float(nmap._clip(res).sum())
            tally.rows += res.size
            yield r0, phi

    feats = RowSource(
        f"the Nyström features of {src.label}",
        src.n,
        nmap.rank,
        np.dtype(np.float64),
        "array",
        features,
    )
    rows = chunk_rows if chunk_rows is not None else max(64, _BLOCK_VALUES // nmap.m)
    return feats, tally, rows


def nystrom_report(
    mom: StreamingCovariance,
    nmap: NystromMap,
    tally: ResidualTally,
    *,
    d: int,
    ci: float,
    center: bool,
    seed: int,
    sample_rows: int,
    extras: dict | None = None,
) -> SpectrumReport:
    """The spectrum report of the moments of Nyström features, with the error bound:
    ``extras["nystrom"]`` (trace_gap = Σρ/n etc.) and ``eig_error_bound``.

    Raises:
        ArithmeticError: a raw residual below −``residual_tol`` (the bound's premise failed
            numerically; not expected to happen).
    """
    if tally.worst < -nmap.residual_tol:  # not rounding: the bound's premise failed numerically
        raise ArithmeticError(
            f"a Nyström residual of {tally.worst:.3g} is below the rounding bound "
            f"-{nmap.residual_tol:.3g}; the error bound would not hold."
        )
    if tally.rows != mom.n:
        raise RuntimeError(f"residuals of {tally.rows} rows for moments of {mom.n}.")
    gap = tally.total / mom.n
    # tr T = 1 uncentered (k(x, x) = 1); centered, tr T̃ = Σ λ̃_k = tr of the feature covariance
    trace_t = float(np.trace(mom.covariance)) if center else 1.0
    info = {
        "ci_method": "grouped jackknife" if mom.groups else "none",
        "groups": mom.groups,
        **(extras or {}),
        "nystrom": {
            "landmarks": nmap.m,
            "rank": nmap.rank,
            "trace_gap": gap,
            "relative_trace_gap": gap / trace_t if trace_t > 0 else float("inf"),
            "residual_tol": nmap.residual_tol,
            "sample_rows": sample_rows,
            "seed": seed,
        },
    }
    rep = report_from_moments(mom, ci=ci, kernel="rbf", bandwidth=nmap.bandwidth, extras=info)
    k_lo, k_hi = rep.fit.fit_range
    fit_lam = rep.eigenvalues[k_lo - 1 : k_hi]
    eig_bound = float(np.max(gap / (fit_lam + gap))) if gap > 0 and fit_lam.size else 0.0
    return replace(rep, d=d, eig_error_bound=eig_bound)


def kernel_spectrum_nystrom(
    source: str | os.PathLike | Path | np.ndarray | RowSource,
    y: np.ndarray | None = None,
    *,
    task: Literal["auto", "regression", "classification"] = "auto",
    landmarks: int = 1000,
    bandwidth: float | None = None,
    groups: int = 20,
    ci: float = 0.9,
    center: bool = True,
    seed: int = 0,
    chunk_rows: int | None = None,
    progress: bool = False,
) -> SpectrumReport:
    r"""RBF kernel spectrum of a large data set from Nyström features, with an error bound.

    Reads a uniform sample of s = min(n, max(``landmarks``, 2000)) rows, draws the m landmarks
    from it (:meth:`NystromMap.fit`'s rule, continuing the same random stream), then streams
    the data once: each chunk becomes its features :math:`\Phi` (rows, r), whose covariance
    (r, r) (second moments with ``center=False``), cross-covariance with the targets and
    per-group sums are accumulated (:func:`streaming_covariance`), and the residuals
    :math:`\rho(x_i)` are summed in the same pass. The eigenvalues are those of
    :math:`\tilde T = H\tilde K H/n` (:math:`\tilde K/n` uncentered), each within
    [0, trace_gap] below the exact :math:`T` of :func:`estimate_spectrum` with
    ``kernel="rbf"`` (module docstring).

    Memory: the sample (s·d), :math:`K_{mm}` (m²), one kernel block (≤ 2²⁰ values), one
    feature chunk and (G + 1) r×r matrices; time O(n·m·(d + r) + m³ + G·r³).

    Args:
        source: an (n, d) array, a ``.npy`` file (memory-mapped), a ``.parquet`` file or a
            folder of them (read batch by batch), ``.npz`` / ``.csv`` (loaded first), or a
            :class:`specurate.io.RowSource`; at least 50 rows.
        y: optional (n,) / (n, k) targets or class labels
            (:func:`specurate.spectrum.target.prepare_targets`).
        task: how to read ``y``.
        landmarks: m ≥ 1; all rows are landmarks when m ≥ n (then the spectrum is exact up to
            the cutoff).
        bandwidth: σ > 0; default the median pairwise distance of the sample.
        groups: delete-one-group jackknife groups G (0: no CI, else 2 ≤ G ≤ n) over contiguous
            row blocks.
        ci: confidence level of the jackknife intervals, in (0, 1).
        center: double-center the kernel (kernel PCA, as ``estimate_spectrum``'s default).
        seed: seed of the sample and landmark draws (stream ``"nystrom.landmarks"``).
        chunk_rows: rows read per chunk; default about 2²⁰ / m (at least 64).
        progress: show a progress bar over rows (stderr).

    Returns:
        A :class:`SpectrumReport` with ``kernel="rbf"``, the input dimension d, r eigenvalues,
        ``eig_error_bound`` = the largest relative error bound
        trace_gap / (λ̃_k + trace_gap) over b's fit range, and
        ``extras["nystrom"]`` = {landmarks, rank, trace_gap, relative_trace_gap, residual_tol,
        sample_rows, seed}.

    Raises:
        SpecurateInputError: invalid arguments (each named), unreadable data, NaN/inf (the row
            is named), fewer than 50 rows, targets of another length.
        ArithmeticError: a residual below −``residual_tol`` (not rounding: the bound's premise
            failed numerically; not expected to happen).
    """
    m = check_positive_int("landmarks", landmarks)
    sigma = None if bandwidth is None else check_positive("bandwidth", bandwidth)
    seed = check_seed(seed)
    center = check_bool("center", center)
    groups = check_int("groups", groups, lo=0)
    if groups == 1:
        raise SpecurateInputError("groups must be 0 or at least 2, got 1.")
    check_real("ci (the confidence level)", ci, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    check_choice("task", task, ("auto", "regression", "classification"))
    if chunk_rows is not None:
        chunk_rows = check_positive_int("chunk_rows", chunk_rows)
    src = open_rows(source, min_rows=MIN_EXAMPLES)
    yy = None if y is None else prepare_targets(y, task)
    if yy is not None:
        check_same_length(src.n, yy, data_source=src.label, other_source="the targets")

    idx, rng = sample_indices(src.n, m, seed)
    sample = read_rows(src, idx)
    nmap = NystromMap.from_sample(sample, m, sigma, rng, seed)
    s_rows = sample.shape[0]
    del sample
    feats, tally, rows = feature_rows(src, nmap, chunk_rows=chunk_rows)
    mom = streaming_covariance(
        feats, targets=yy, groups=groups, center=center, chunk_rows=rows, progress=progress
    )
    return nystrom_report(
        mom, nmap, tally, d=src.d, ci=ci, center=center, seed=seed, sample_rows=s_rows
    )
