r"""Mergeable moments: the covariance of a data set assembled from partitions.

Each partition :math:`P` of the rows contributes its count, mean and scatter about its own
mean,

.. math::

    n_P, \qquad \bar x_P = \frac1{n_P}\sum_{i\in P} x_i, \qquad
    M_P = \sum_{i\in P} (x_i - \bar x_P)(x_i - \bar x_P)^\top \quad (d, d),

(with targets also :math:`\bar y_P` (m,), the cross scatter
:math:`C_P = \sum_{i\in P}(x_i-\bar x_P)(y_i-\bar y_P)^\top` (d, m) and the per-column target
scatter :math:`Q_P = \sum_{i\in P}(y_i-\bar y_P)^2` (m,)). Two partitions merge exactly by the
pairwise update of Chan, Golub & LeVeque (1979): with :math:`n = n_A + n_B` and
:math:`\delta = \bar x_B - \bar x_A`,

.. math::

    \bar x = \bar x_A + \delta\,\frac{n_B}{n}, \qquad
    M = M_A + M_B + \delta\delta^\top\,\frac{n_A n_B}{n},

and likewise :math:`C = C_A + C_B + \delta\,\delta_y^\top n_A n_B / n`,
:math:`Q = Q_A + Q_B + \delta_y^2 n_A n_B / n`. Merging along a balanced tree keeps the
rounding error of the scatter at :math:`O(\varepsilon \log P)` relative (no sum of squares of
raw values is ever formed, so a large mean costs no accuracy), which is why the result does not
depend on how the rows were partitioned beyond the last digits.

The merge is associative and commutative in exact arithmetic: a Dask tree reduction, a serial
fold and a single streaming pass give the same covariance to rounding
(``tests/spectrum/test_moments.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from specurate.errors import SpecurateInputError
from specurate.spectrum.streaming import Precision, StreamingCovariance, streaming_covariance

__all__ = [
    "Moments",
    "WeightedMoments",
    "WeightedSums",
    "grouped_covariance",
    "merge_moments",
    "merge_weighted",
    "split_moments",
    "tree_merge",
]


@dataclass(frozen=True, eq=False)
class Moments:
    r"""Count, mean and scatter of a set of rows (one partition, or several merged).

    Attributes:
        n: rows.
        mean: (d,) :math:`\bar x`.
        scatter: (d, d) :math:`M = \sum_i (x_i - \bar x)(x_i - \bar x)^\top` (symmetric; not
            divided by n).
        target_mean: (m,) :math:`\bar y`, or None without targets.
        cross: (d, m) :math:`C = \sum_i (x_i - \bar x)(y_i - \bar y)^\top`, or None.
        target_scatter: (m,) :math:`Q_j = \sum_i (y_{ij} - \bar y_j)^2`, or None.
    """

    n: int
    mean: np.ndarray
    scatter: np.ndarray
    target_mean: np.ndarray | None = None
    cross: np.ndarray | None = None
    target_scatter: np.ndarray | None = None

    @property
    def d(self) -> int:
        return int(self.mean.shape[0])

    @property
    def covariance(self) -> np.ndarray:
        r"""(d, d) population covariance :math:`M / n`."""
        return self.scatter / self.n

    @classmethod
    def of_rows(
        cls,
        rows: object,
        targets: np.ndarray | None = None,
        *,
        precision: Precision = "double",
        chunk_rows: int | None = None,
    ) -> Moments:
        r"""Moments of one partition, in one streaming pass.

        Args:
            rows: the partition: an (n_P, d) array, a ``.npy`` / ``.parquet`` file, or a
                :class:`specurate.io.RowSource` (anything :func:`streaming_covariance` reads;
                NaN/inf and overflow are refused there with the row named).
            targets: (n_P,) or (n_P, m) float targets aligned with the rows, already prepared
                (:func:`specurate.spectrum.target.prepare_targets`), or None.
            precision: accumulation precision of the pass (see :func:`streaming_covariance`).
            chunk_rows: rows per chunk of the pass.

        Returns:
            The partition's :class:`Moments` (scatter = n_P · covariance).
        """
        cov = streaming_covariance(
            rows,  # type: ignore[arg-type]
            targets=targets,
            precision=precision,
            chunk_rows=chunk_rows,
        )
        return cls.of_covariance(cov)

    @classmethod
    def of_covariance(cls, cov: StreamingCovariance) -> Moments:
        """Moments from a :func:`streaming_covariance` result (centered)."""
        if not cov.center:
            raise SpecurateInputError("mergeable moments need a centered covariance.")
        n = cov.n
        if cov.cross is None:
            return cls(n=n, mean=cov.mean, scatter=cov.covariance * n)
        assert cov.target_mean is not None and cov.target_var is not None
        return cls(
            n=n,
            mean=cov.mean,
            scatter=cov.covariance * n,
            target_mean=cov.target_mean,
            cross=cov.cross * n,
            target_scatter=cov.target_var * n,
        )


def split_moments(cov: StreamingCovariance) -> list[Moments]:
    r"""The moments of each group of a grouped streaming pass (``groups=G``): the inverse of
    :func:`grouped_covariance`. From group g's sums about the shift s,

    .. math::

        \bar x_g = s + u_g/n_g, \qquad M_g = S_g - u_g u_g^\top / n_g

    (and the same for the targets). ``u_g/n_g`` is of the order of the spread (s is the first
    chunk's mean), so the subtraction does not cancel.
    """
    if cov.groups == 0 or cov.group_scatter is None:
        return [Moments.of_covariance(cov)]
    assert cov.group_sum is not None and cov.group_count is not None
    out = []
    for g in range(cov.groups):
        n = int(cov.group_count[g])
        u = cov.group_sum[g]
        scatter = cov.group_scatter[g] - np.outer(u, u) / n
        if cov.group_cross_scatter is None:
            out.append(Moments(n=n, mean=cov.shift + u / n, scatter=scatter))
            continue
        assert cov.group_target_sum is not None and cov.group_target_sq is not None
        assert cov.target_shift is not None
        v = cov.group_target_sum[g]
        out.append(
            Moments(
                n=n,
                mean=cov.shift + u / n,
                scatter=scatter,
                target_mean=cov.target_shift + v / n,
                cross=cov.group_cross_scatter[g] - np.outer(u, v) / n,
                target_scatter=cov.group_target_sq[g] - v * v / n,
            )
        )
    return out


def merge_moments(a: Moments, b: Moments) -> Moments:
    r"""Exact moments of the union of two disjoint row sets (Chan et al.'s pairwise update).

    .. math::

        n = n_A + n_B,\quad \delta = \bar x_B - \bar x_A,\quad
        \bar x = \bar x_A + \delta n_B / n,\quad
        M = M_A + M_B + \delta\delta^\top n_A n_B / n

    (and the same for the cross and target scatters with :math:`\delta_y = \bar y_B - \bar y_A`).

    Raises:
        SpecurateInputError: the two have different widths, or one has targets and the other not.
    """
    if a.d != b.d:
        raise SpecurateInputError(f"cannot merge moments of {a.d} and {b.d} columns.")
    if (a.cross is None) != (b.cross is None):
        raise SpecurateInputError("cannot merge moments with targets and moments without.")
    n = a.n + b.n
    delta = b.mean - a.mean
    f = a.n * b.n / n
    mean = a.mean + delta * (b.n / n)
    scatter = a.scatter + b.scatter
    scatter += f * np.outer(delta, delta)
    if a.cross is None:
        return Moments(n=n, mean=mean, scatter=scatter)
    assert b.cross is not None and a.target_mean is not None and b.target_mean is not None
    assert a.target_scatter is not None and b.target_scatter is not None
    dy = b.target_mean - a.target_mean
    if dy.shape != a.target_mean.shape or b.cross.shape != a.cross.shape:
        raise SpecurateInputError("cannot merge moments of targets of different widths.")
    return Moments(
        n=n,
        mean=mean,
        scatter=scatter,
        target_mean=a.target_mean + dy * (b.n / n),
        cross=a.cross + b.cross + f * np.outer(delta, dy),
        target_scatter=a.target_scatter + b.target_scatter + f * dy * dy,
    )


def tree_merge(parts: Sequence[Moments]) -> Moments:
    """Merge moments pairwise along a balanced binary tree (depth ⌈log₂ P⌉), in order.

    Raises:
        SpecurateInputError: no moments to merge.
    """
    level = list(parts)
    if not level:
        raise SpecurateInputError("no partitions to merge.")
    while len(level) > 1:
        nxt = [merge_moments(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def grouped_covariance(
    groups: Sequence[Moments], *, precision: str = "double"
) -> StreamingCovariance:
    r"""The covariance of G merged groups, with the per-group sums the jackknife needs.

    Turns G group moments into the :class:`StreamingCovariance` that
    :func:`streaming_covariance` returns with ``groups=G`` (so every analysis built on it runs
    unchanged, :func:`specurate.spectrum.large.report_from_moments` included). The common shift
    is the overall mean :math:`s = \bar x`, and group g's sums about it are

    .. math::

        S_g = M_g + n_g(\bar x_g - s)(\bar x_g - s)^\top, \qquad u_g = n_g(\bar x_g - s),

    (and :math:`S^{xy}_g = C_g + n_g(\bar x_g - s)(\bar y_g - t)^\top`,
    :math:`v_g = n_g(\bar y_g - t)`, :math:`Q_g + n_g(\bar y_g - t)^2` with :math:`t = \bar y`).
    Memory: G + 1 matrices of d × d float64.

    Args:
        groups: G ≥ 1 group moments, in row order (G = 1: no jackknife groups).
        precision: recorded in the result.
    """
    if not groups:
        raise SpecurateInputError("no partitions to merge.")
    total = tree_merge(groups)
    n, s = total.n, total.mean
    fields: dict = {
        "n": n,
        "d": total.d,
        "mean": s,
        "shift": s,
        "center": True,
        "precision": precision,
        "covariance": total.covariance,
    }
    with_targets = total.cross is not None
    if with_targets:
        assert total.target_scatter is not None
        fields.update(
            cross=total.cross / n,  # type: ignore[operator]
            target_mean=total.target_mean,
            target_var=total.target_scatter / n,
            target_shift=total.target_mean,
        )
    if len(groups) >= 2:
        counts = np.array([g.n for g in groups], dtype=np.int64)
        offsets = np.array([g.mean - s for g in groups])  # (G, d)
        gsum = offsets * counts[:, None]
        gscatter = np.stack(
            [g.scatter + g.n * np.outer(o, o) for g, o in zip(groups, offsets, strict=True)]
        )
        fields.update(
            groups=len(groups),
            group_bounds=np.concatenate([[0], np.cumsum(counts)]),
            group_scatter=gscatter,
            group_sum=gsum,
            group_count=counts,
        )
        if with_targets:
            t = total.target_mean
            toff = [g.target_mean - t for g in groups]  # type: ignore[operator]
            fields.update(
                group_cross_scatter=np.stack(
                    [
                        g.cross + g.n * np.outer(o, ty)
                        for g, o, ty in zip(groups, offsets, toff, strict=True)
                    ]
                ),
                group_target_sum=np.array([g.n * ty for g, ty in zip(groups, toff, strict=True)]),
                group_target_sq=np.array(
                    [g.target_scatter + g.n * ty * ty for g, ty in zip(groups, toff, strict=True)]
                ),
            )
    return StreamingCovariance(**fields)


@dataclass(frozen=True, eq=False)
class WeightedMoments:
    r"""Total weight, weighted mean and weighted scatter of a set of rows with weights w ≥ 0.

    .. math::

        W = \sum_i w_i,\qquad \bar x_w = \frac1W\sum_i w_i x_i,\qquad
        M_w = \sum_i w_i (x_i - \bar x_w)(x_i - \bar x_w)^\top \quad (d, d)

    Two sets merge by Chan et al.'s update with weights in place of counts,
    :math:`\bar x_w = \bar x_A + \delta W_B/W`,
    :math:`M_w = M_A + M_B + \delta\delta^\top W_A W_B / W`; a set of total weight 0 is the
    identity of the merge.

    Attributes:
        weight: W.
        mean: (d,) :math:`\bar x_w` (zeros when W = 0).
        scatter: (d, d) :math:`M_w`.
        kept: rows with w > 0.
        max_weight: the largest w.
    """

    weight: float
    mean: np.ndarray
    scatter: np.ndarray
    kept: int
    max_weight: float

    @classmethod
    def of_chunks(cls, chunks: Iterable[tuple[np.ndarray, np.ndarray]], d: int) -> WeightedMoments:
        """Weighted moments of ``(rows (k, d), weights (k,))`` chunks in one pass
        (:class:`WeightedSums`)."""
        acc = WeightedSums(d)
        for x, w in chunks:
            acc.add(x, w)
        return acc.result()


class WeightedSums:
    r"""Running shifted sums of weighted rows: :math:`S = \sum w (x-s)(x-s)^\top`,
    :math:`u = \sum w(x-s)`, W = Σ w, about the shift s = the first rows' mean; then
    :math:`\bar x_w = s + u/W`, :math:`M_w = S - uu^\top/W` (no cancellation: u/W is of the
    order of the spread). With all weights 1 the result is the plain :class:`Moments`."""

    def __init__(self, d: int) -> None:
        self.d = d
        self.shift: np.ndarray | None = None
        self.s = np.zeros((d, d))
        self.u = np.zeros(d)
        self.total, self.kept, self.top = 0.0, 0, 0.0

    def add(self, x: np.ndarray, w: np.ndarray) -> None:
        """Add rows x (k, d) with weights w (k,) ≥ 0."""
        x = np.asarray(x, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if x.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = x.mean(axis=0)
        b = x - self.shift
        self.u += w @ b
        b *= np.sqrt(w)[:, None]
        self.s += b.T @ b
        self.total += float(w.sum())
        self.kept += int(np.count_nonzero(w))
        self.top = max(self.top, float(w.max()))

    def result(self) -> WeightedMoments:
        """The :class:`WeightedMoments` of the rows added."""
        d = self.d
        if self.total <= 0 or self.shift is None:
            return WeightedMoments(0.0, np.zeros(d), np.zeros((d, d)), self.kept, self.top)
        mean = self.shift + self.u / self.total
        scatter = self.s - np.outer(self.u, self.u) / self.total
        return WeightedMoments(self.total, mean, 0.5 * (scatter + scatter.T), self.kept, self.top)

    def moments(self) -> Moments:
        """The plain :class:`Moments` (for sums of unit weights)."""
        r = self.result()
        return Moments(n=self.kept, mean=r.mean, scatter=r.scatter)


def merge_weighted(a: WeightedMoments, b: WeightedMoments) -> WeightedMoments:
    """Exact weighted moments of the union of two disjoint row sets (see
    :class:`WeightedMoments`)."""
    kept, top = a.kept + b.kept, max(a.max_weight, b.max_weight)
    if b.weight == 0:
        return WeightedMoments(a.weight, a.mean, a.scatter, kept, top)
    if a.weight == 0:
        return WeightedMoments(b.weight, b.mean, b.scatter, kept, top)
    total = a.weight + b.weight
    delta = b.mean - a.mean
    scatter = a.scatter + b.scatter + np.outer(delta, delta) * (a.weight * b.weight / total)
    return WeightedMoments(total, a.mean + delta * (b.weight / total), scatter, kept, top)
