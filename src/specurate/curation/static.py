r"""Static curation: per-example difficulty scores, and strategies that turn them into a subset
or bounded weights fixed for the whole run.

Score functions are pure and follow one convention: **a higher score means a harder (less
typical, less learned) example**. They take model outputs the caller collected (softmax
probabilities, gradient norms, correctness histories, embeddings); nothing here runs a model.

Strategies (:class:`StaticSubset`, :class:`StaticWeights`, :class:`KeepMask`) follow the
contract of :mod:`specurate.curation.base`. Their weights never change with time, so by
Theorem 1 of theory.md (0 ⪯ T_w ⪯ C T) they can at most shift the learning curve by a constant
factor: they cannot change its exponent. ``update`` only counts the trained examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from specurate import _rng
from specurate._validate import (
    check_positive,
    check_positive_int,
    check_real,
    check_seed,
    check_unit,
)
from specurate.curation.base import (
    Correction,
    Plan,
    Strategy,
    StrategyState,
    bounded_weights,
    check_data_array,
    check_epoch_length,
    data_field,
    draw_plan,
    epoch_rng,
    readonly,
    resolve_correction,
)
from specurate.errors import SpecurateInputError

__all__ = [
    "KeepMask",
    "StaticSubset",
    "StaticWeights",
    "SubsetState",
    "WeightsState",
    "el2n_scores",
    "entropy_scores",
    "forgetting_scores",
    "grand_scores",
    "kmeans_prototypes",
    "least_confidence_scores",
    "margin_scores",
    "near_duplicates",
    "prototype_scores",
]

Prefer = Literal["easy", "hard", "random"]
PREFERS: tuple[str, ...] = ("easy", "hard", "random")

# ---------------------------------------------------------------------------------------------
# input helpers


def _probs(probs: np.ndarray, name: str = "probs") -> np.ndarray:
    """(n, K) or (S, n, K) finite probabilities whose rows sum to 1, as (S, n, K) float64."""
    p = np.asarray(probs, dtype=float)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3:
        raise SpecurateInputError(f"{name} must have shape (n, K) or (S, n, K), got {p.shape}")
    if p.shape[1] < 1 or p.shape[2] < 1:
        raise SpecurateInputError(f"{name} is empty (shape {p.shape})")
    if not np.all(np.isfinite(p)):
        raise SpecurateInputError(f"{name} contains NaN or inf")
    if np.any(p < 0):
        raise SpecurateInputError(f"{name} must be ≥ 0 (pass softmax outputs, not logits)")
    if not np.allclose(p.sum(axis=-1), 1.0, atol=1e-3):
        raise SpecurateInputError(
            f"each row of {name} must sum to 1 (pass softmax outputs, not logits)"
        )
    return p


def _labels(labels: np.ndarray, n: int, k: int | None = None) -> np.ndarray:
    """(n,) integer labels, in [0, k) when k is given."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.size != n:
        raise SpecurateInputError(f"labels must have shape ({n},), got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise SpecurateInputError(f"labels must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if k is not None and y.size and (y.min() < 0 or y.max() >= k):
        raise SpecurateInputError(
            f"labels must lie in [0, {k}) for {k} classes, got [{y.min()}, {y.max()}]"
        )
    return y


def _scores(scores: np.ndarray, name: str = "scores", *, nonneg: bool = False) -> np.ndarray:
    """A finite 1-D float array (read-only copy)."""
    s = np.array(scores, dtype=float, copy=True)
    if s.ndim != 1 or s.size < 1:
        raise SpecurateInputError(f"{name} must be a non-empty 1-D array, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise SpecurateInputError(f"{name} contain NaN or inf")
    if nonneg and np.any(s < 0):
        raise SpecurateInputError(f"{name} must be ≥ 0")
    s.setflags(write=False)
    return s


def _embeddings(embeddings: np.ndarray, *, normalize: bool) -> np.ndarray:
    """(n, d) finite float embeddings, optionally L2-normalized row-wise."""
    x = np.asarray(embeddings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise SpecurateInputError(f"embeddings must have shape (n, d), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise SpecurateInputError("embeddings contain NaN or inf")
    if normalize:
        norms = np.linalg.norm(x, axis=1)
        if np.any(norms == 0):
            raise SpecurateInputError(
                f"embeddings has {int(np.sum(norms == 0))} all-zero rows: cosine distance is "
                "undefined for them"
            )
        x = x / norms[:, None]
    return x


# ---------------------------------------------------------------------------------------------
# score functions (higher = harder)


def el2n_scores(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""EL2N score: the error L2 norm ‖p(x) − onehot(y)‖₂, averaged over seeds.

    Paul, Ganguli & Dziugaite, "Deep Learning on a Data Diet" (NeurIPS 2021):
    EL2N(x, y) = E_s ‖p_s(x) − e_y‖₂ with p_s the softmax output of run s early in training.

    Args:
        probs: (n, K) or (S, n, K) softmax probabilities; with S runs (seeds or early
            epochs) the per-run norms are averaged (the paper's expectation of the norm).
        labels: (n,) integer labels in [0, K).

    Returns:
        (n,) float64 in [0, √2]; 0 for a perfect, confident prediction.
    """
    p = _probs(probs)
    y = _labels(labels, p.shape[1], p.shape[2])
    err = p.copy()
    err[:, np.arange(y.size), y] -= 1.0
    return np.linalg.norm(err, axis=-1).mean(axis=0)


def grand_scores(grad_norms: np.ndarray) -> np.ndarray:
    r"""GraNd score: the per-example loss-gradient norm E_s ‖∇_θ ℓ(x, y; θ_s)‖₂.

    Paul, Ganguli & Dziugaite (NeurIPS 2021). The caller computes the norms (e.g. of the last
    layer's gradient) early in training, for S seeds.

    Args:
        grad_norms: (n,) or (S, n) non-negative gradient norms; rows are averaged.

    Returns:
        (n,) float64 ≥ 0.
    """
    g = np.asarray(grad_norms, dtype=float)
    if g.ndim == 1:
        g = g[None]
    if g.ndim != 2 or g.shape[1] < 1:
        raise SpecurateInputError(f"grad_norms must have shape (n,) or (S, n), got {g.shape}")
    if not np.all(np.isfinite(g)):
        raise SpecurateInputError("grad_norms contain NaN or inf")
    if np.any(g < 0):
        raise SpecurateInputError("grad_norms must be ≥ 0")
    return g.mean(axis=0)


def forgetting_scores(correct_history: np.ndarray) -> np.ndarray:
    r"""Number of forgetting events: transitions correct → incorrect over training.

    Toneva et al., "An Empirical Study of Example Forgetting during Deep Neural Network
    Learning" (ICLR 2019): F_i = Σ_{t=1}^{T−1} 1{c_{t−1,i} = 1, c_{t,i} = 0}. Examples never
    classified correctly ("never learned", infinitely forgettable in the paper) get T, which is
    larger than any possible count ⌊T/2⌋, so they rank as the hardest.

    Args:
        correct_history: (T, n) booleans (or 0/1), whether example i was classified correctly
            at the t-th evaluation (e.g. each time it appeared in a mini-batch).

    Returns:
        (n,) float64 counts in {0, …, ⌊T/2⌋} ∪ {T}.
    """
    c = np.asarray(correct_history)
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 1:
        raise SpecurateInputError(
            f"correct_history must have shape (T, n) with T, n ≥ 1, got {c.shape}"
        )
    if c.dtype != bool:
        if not np.all(np.isin(c, (0, 1))):
            raise SpecurateInputError("correct_history must contain booleans (or 0/1) only")
        c = c.astype(bool)
    events = np.sum(c[:-1] & ~c[1:], axis=0).astype(float)
    events[~c.any(axis=0)] = float(c.shape[0])
    return events


def margin_scores(probs: np.ndarray) -> np.ndarray:
    r"""Margin uncertainty: 1 − (p_(1) − p_(2)), one minus the gap between the top two classes.

    Scheffer, Decomain & Wrobel, "Active Hidden Markov Models for Information Extraction"
    (2001); as a data-selection score in Coleman et al., "Selection via Proxy" (ICLR 2020).
    Probabilities of S runs, (S, n, K), are averaged first.

    Returns:
        (n,) float64 in [0, 1]; 1 when the top two classes tie.
    """
    p = _probs(probs).mean(axis=0)
    if p.shape[1] < 2:
        raise SpecurateInputError("margin_scores needs at least 2 classes")
    top2 = np.sort(p, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def entropy_scores(probs: np.ndarray) -> np.ndarray:
    r"""Predictive entropy H(p) = −Σ_k p_k log p_k (nats, 0 log 0 = 0).

    Shannon (1948); as a data-selection score in Coleman et al. (ICLR 2020).
    Probabilities of S runs, (S, n, K), are averaged first.

    Returns:
        (n,) float64 in [0, log K].
    """
    p = _probs(probs).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return np.maximum(-terms.sum(axis=1), 0.0)


def least_confidence_scores(probs: np.ndarray) -> np.ndarray:
    r"""Least confidence: 1 − max_k p_k.

    Settles, "Active Learning Literature Survey" (2009); Coleman et al. (ICLR 2020).
    Probabilities of S runs, (S, n, K), are averaged first.

    Returns:
        (n,) float64 in [0, 1 − 1/K].
    """
    p = _probs(probs).mean(axis=0)
    return 1.0 - p.max(axis=1)


def kmeans_prototypes(
    embeddings: np.ndarray, *, n_clusters: int, seed: int, normalize: bool = True
) -> np.ndarray:
    r"""k-means centroids ("prototypes") of the embeddings: (n_clusters, d) float64.

    Minimizes Σ_i min_c ‖x_i − μ_c‖² (scikit-learn's KMeans, k-means++ init, 4 restarts,
    ``random_state=seed``). With ``normalize`` the rows are first scaled to unit norm
    (Sorscher et al. 2022 cluster self-supervised embeddings by cosine similarity).
    """
    from sklearn.cluster import KMeans

    x = _embeddings(embeddings, normalize=normalize)
    k = int(n_clusters)
    if k != n_clusters or not 1 <= k <= x.shape[0]:
        raise SpecurateInputError(
            f"n_clusters must be an integer in [1, {x.shape[0]}], got {n_clusters}"
        )
    km = KMeans(n_clusters=k, n_init=4, random_state=int(seed)).fit(x)
    return np.asarray(km.cluster_centers_, dtype=float)


def prototype_scores(
    embeddings: np.ndarray,
    *,
    n_clusters: int | None = None,
    seed: int = 0,
    centroids: np.ndarray | None = None,
    normalize: bool = True,
) -> np.ndarray:
    r"""Self-supervised prototype score: distance to the nearest k-means centroid.

    Sorscher et al., "Beyond neural scaling laws: beating power law scaling via data pruning"
    (NeurIPS 2022): s_i = min_c ‖x_i − μ_c‖₂ with μ from k-means in an embedding space;
    far-from-prototype examples are hard (keep them when data is plentiful, keep easy ones
    when it is scarce). With ``normalize`` (default) rows are unit-normalized, so
    ‖x − μ‖² = 1 − 2⟨x, μ⟩ + ‖μ‖², monotone in the cosine similarity for a fixed centroid.

    Args:
        embeddings: (n, d) features (e.g. of a self-supervised model).
        n_clusters: number of k-means clusters (when ``centroids`` is not given).
        seed: k-means seed.
        centroids: (k, d) prototypes to use instead of fitting k-means (in the same space as
            the, possibly normalized, embeddings), e.g. from :func:`kmeans_prototypes`.
        normalize: L2-normalize the embedding rows first.

    Returns:
        (n,) float64 ≥ 0.
    """
    x = _embeddings(embeddings, normalize=normalize)
    if centroids is None:
        if n_clusters is None:
            raise SpecurateInputError("prototype_scores needs n_clusters or centroids")
        mu = kmeans_prototypes(embeddings, n_clusters=n_clusters, seed=seed, normalize=normalize)
    else:
        mu = np.asarray(centroids, dtype=float)
        if mu.ndim != 2 or mu.shape[0] < 1 or mu.shape[1] != x.shape[1]:
            raise SpecurateInputError(
                f"centroids must have shape (k, {x.shape[1]}), got {mu.shape}"
            )
        if not np.all(np.isfinite(mu)):
            raise SpecurateInputError("centroids contain NaN or inf")
    d2 = (x * x).sum(1)[:, None] - 2.0 * x @ mu.T + (mu * mu).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))


def near_duplicates(embeddings: np.ndarray, *, threshold: float) -> np.ndarray:
    r"""Keep mask that removes near-duplicates: (n,) bool, True = keep.

    Two examples are near-duplicates when their cosine distance 1 − ⟨x_i, x_j⟩/(‖x_i‖‖x_j‖)
    is ≤ ``threshold`` (SemDeDup, Abbas et al. 2023, uses the same criterion on embeddings).
    Greedy and deterministic: examples are visited by increasing index; an example not yet
    removed is kept and removes all its later neighbours. Hence every removed example is within
    ``threshold`` of a kept one with a lower index, and kept examples are pairwise farther than
    ``threshold`` (no chaining across a group). ``threshold = 0`` removes exact duplicates
    (up to direction: x and 2x are duplicates). Neighbours come from scikit-learn's
    NearestNeighbors radius queries on unit-normalized rows (‖a − b‖² = 2·cosine distance).

    Args:
        embeddings: (n, d) features with no all-zero rows.
        threshold: cosine distance in [0, 2].

    Returns:
        (n,) bool keep mask (at least one True).
    """
    from sklearn.neighbors import NearestNeighbors

    if not (math.isfinite(threshold) and 0 <= threshold <= 2):
        raise SpecurateInputError(f"threshold must be a cosine distance in [0, 2], got {threshold}")
    x = _embeddings(embeddings, normalize=True)
    radius = math.sqrt(2.0 * threshold) + 1e-7  # round-off slack for exact copies
    nn = NearestNeighbors(radius=radius).fit(x)
    neighbours = nn.radius_neighbors(x, return_distance=False)
    keep = np.ones(x.shape[0], dtype=bool)
    for i, nb in enumerate(neighbours):
        if keep[i]:
            later = nb[nb > i]
            keep[later] = False
    return keep


# ---------------------------------------------------------------------------------------------
# strategies


def _round_half_up(x: float) -> int:
    """round(x) with halves rounded up (Python's round() rounds halves to even)."""
    return math.floor(x + 0.5 + 1e-9)


@dataclass(frozen=True, kw_only=True, eq=False)
class SubsetState(StrategyState):
    """State of the subset strategies: ``kept`` (k,) sorted int64 indices of kept examples."""

    kept: np.ndarray

    @property
    def keep_fraction(self) -> float:
        """k/n: the fraction of the data kept."""
        return self.kept.size / self.n


@dataclass(frozen=True, kw_only=True, eq=False)
class WeightsState(StrategyState):
    """State of :class:`StaticWeights`: ``weights`` (n,) fixed weights, mean 1, ≤ cap."""

    weights: np.ndarray


class _Subset(Strategy):
    """Shared plan of subset strategies: the kept indices ``state.kept``, visited in
    independent seeded permutations, concatenated and truncated to ``state.epoch_length``."""

    unbiased: ClassVar[bool] = False

    def _check_state(self, state: object) -> SubsetState:
        if not isinstance(state, SubsetState):
            raise SpecurateInputError(f"{self.name} got a state of type {type(state).__name__}")
        return state

    def kept(self, state: StrategyState) -> np.ndarray:
        """(k,) sorted indices of the kept examples (what a later stage of a chain sees)."""
        return self._check_state(state).kept

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        r"""m = ``epoch_length`` indices: ⌈m/k⌉ seeded permutations of the k kept ones, cut at m.

        Each kept example appears ⌊m/k⌋ or ⌈m/k⌉ times (exactly once when m = k); loss
        scales are 1 (the subset itself is the reweighting w ∈ {0, n/k}).
        """
        state = self._check_state(state)
        rng = epoch_rng(state, epoch)
        kept = state.kept
        k, m = kept.size, state.epoch_length
        reps = -(-m // k)
        idx = np.concatenate([kept[rng.permutation(k)] for _ in range(reps)])[:m]
        return Plan(idx.astype(np.int64), np.ones(m))

    def expected_weights(self, state: StrategyState) -> np.ndarray:
        r"""1/k on the k kept examples, 0 elsewhere: E[count_i] = m/k (the truncated last
        permutation holds each kept example with probability (m mod k)/k)."""
        kept = self._check_state(state).kept
        out = np.zeros(state.n)
        out[kept] = 1.0 / kept.size
        return out

    def _state(self, n: int, seed: int, kept: np.ndarray, epoch_length: int | None) -> SubsetState:
        kept = np.sort(np.asarray(kept, dtype=np.int64))
        if kept.size == 0:
            raise SpecurateInputError(f"{self.name}: the kept subset is empty")
        m = kept.size if epoch_length is None else int(epoch_length)
        return SubsetState(n=n, seed=seed, epoch_length=m, kept=readonly(kept))


@dataclass(frozen=True, kw_only=True)
class StaticSubset(_Subset):
    r"""Keep a fixed fraction of the data, chosen by a difficulty score (higher = harder).

    ``init`` keeps k = round(keep·n) examples (halves rounded up): the lowest scores
    (``prefer="easy"``), the highest (``"hard"``) or a seeded random subset (``"random"``,
    no scores needed). Ties are broken by index. Init data: ``scores`` (n,) and optionally
    ``class_labels`` (n,): the selection is then class-balanced, round(keep·n_c) examples kept in
    each class c (every class must keep at least one). In the operator picture this is
    pruning, w ∈ {0, n/k} (theory.md §2).

    Epoch length: by default m = k, so ``keep`` is both the fraction of the data and the
    fraction of a full epoch's steps (no hidden "prune ratio"); an explicit ``epoch_length``
    (e.g. n, to keep the step count of the full data) repeats the subset to exactly that length.

    Example:
        >>> s = StaticSubset(keep=0.5, prefer="hard")
        >>> st = s.init(4, seed=0, scores=[0.1, 0.9, 0.5, 0.3])
        >>> st.kept.tolist()
        [1, 2]
        >>> sorted(s.plan(st, epoch=0).indices.tolist())
        [1, 2]
    """

    name: ClassVar[str] = "static_subset"
    data_keys: ClassVar[tuple[str, ...]] = ("scores", "class_labels")

    keep: float
    prefer: Prefer = "hard"
    epoch_length: int | None = None
    scores: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init
    class_labels: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init

    def __post_init__(self) -> None:
        self._deprecated_data()
        if self.prefer not in PREFERS:
            raise SpecurateInputError(f"prefer must be one of {PREFERS}, got {self.prefer!r}")
        check_real("keep", self.keep, lo=0.0, lo_open=True, hi=1.0)
        check_epoch_length(self.epoch_length)

    @staticmethod
    def _select(
        prefer: str, scores: np.ndarray | None, idx: np.ndarray, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        if prefer == "random":
            return rng.choice(idx, size=k, replace=False)
        assert scores is not None  # init requires scores unless prefer == "random"
        s = scores[idx]
        order = np.argsort(s if prefer == "easy" else -s, kind="stable")
        return idx[order[:k]]

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> SubsetState:
        """Select the kept indices (``state.kept``, sorted) for n examples."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        d = self._init_data(data)
        scores = (
            None if d["scores"] is None else _scores(check_data_array("scores", d["scores"], n))
        )
        if scores is None and self.prefer != "random":
            raise SpecurateInputError(f'prefer="{self.prefer}" needs the init data scores')
        labels = d["class_labels"]
        # the one-off subset selection: a 2-word seed, distinct from every epoch's 3-word
        # seed [seed, epoch, stream] used by ``epoch_rng``
        rng = _rng.stream("curation.static.select", seed)
        if labels is None:
            k = _round_half_up(self.keep * n)
            if k == 0:
                raise SpecurateInputError(
                    f"keep={self.keep} of {n} examples keeps nothing: the subset is empty"
                )
            kept = self._select(self.prefer, scores, np.arange(n), k, rng)
        else:
            labels = check_data_array("class_labels", labels, n)
            parts = []
            for c in np.unique(labels):
                idx = np.flatnonzero(labels == c)
                k = _round_half_up(self.keep * idx.size)
                if k == 0:
                    raise SpecurateInputError(
                        f"class {c!r} ({idx.size} examples) keeps no example at keep={self.keep}:"
                        " raise keep or drop class balancing"
                    )
                parts.append(self._select(self.prefer, scores, idx, k, rng))
            kept = np.concatenate(parts)
        return self._state(n, seed, kept, self.epoch_length)


@dataclass(frozen=True, kw_only=True)
class KeepMask(_Subset):
    r"""A fixed filter: train only on examples with ``mask[i]`` True (init data ``mask`` (n,)
    bool, e.g. from :func:`near_duplicates`; or ``indices`` of the kept examples). A
    :class:`StaticSubset` on given indices; the epoch length defaults to the number kept."""

    name: ClassVar[str] = "keep_mask"
    data_keys: ClassVar[tuple[str, ...]] = ("mask", "indices")

    epoch_length: int | None = None
    mask: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init

    def __post_init__(self) -> None:
        self._deprecated_data()
        check_epoch_length(self.epoch_length)

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> SubsetState:
        """Kept indices = flatnonzero(mask), or the given indices (deduplicated, sorted)."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        d = self._init_data(data)
        if (d["mask"] is None) == (d["indices"] is None):
            raise SpecurateInputError("KeepMask needs exactly one of the init data mask or indices")
        if d["mask"] is not None:
            m = check_data_array("mask", d["mask"], n)
            if m.dtype != bool:
                raise SpecurateInputError(f"mask must be boolean, got dtype {m.dtype}")
            kept = np.flatnonzero(m)
        else:
            from specurate.curation.base import check_indices

            kept = np.unique(check_indices(np.asarray(d["indices"]), n))
        if kept.size == 0:
            raise SpecurateInputError("the mask keeps no example: the subset is empty")
        return self._state(n, seed, kept, self.epoch_length)


@dataclass(frozen=True, kw_only=True)
class StaticWeights(Strategy):
    r"""Sample examples with fixed bounded weights from a difficulty score (init data
    ``scores`` (n,) ≥ 0).

    w = cap_C((1 − mix)·s^{1/T}/mean(s^{1/T}) + mix) (:func:`~specurate.curation.base.
    bounded_weights`): mean(w) = 1, 0 ≤ w ≤ C, the static setting of Theorem 1. Each epoch
    draws m = ``epoch_length`` (default n) indices with p_i = w_i/n by systematic sampling
    (E[count_i] = m p_i). ``correction="reweight"`` (loss scale 1) trains on the reweighted
    objective (1/n) Σ w_i ℓ_i; ``correction="importance"`` scales losses by 1/w_i, so the
    expected gradient is the full-data one (only then is the strategy declared ``unbiased``;
    it needs every w_i > 0, e.g. mix > 0).

    Example:
        >>> s = StaticWeights(cap=1.5)
        >>> st = s.init(4, seed=0, scores=[1.0, 2.0, 3.0, 6.0])
        >>> st.weights.round(3).tolist()
        [0.417, 0.833, 1.25, 1.5]
    """

    name: ClassVar[str] = "static_weights"
    data_keys: ClassVar[tuple[str, ...]] = ("scores",)

    cap: float
    temperature: float = 1.0
    mix: float = 0.0
    correction: Correction = "reweight"
    epoch_length: int | None = None
    scores: Any = data_field()  # noqa: RUF009 - deprecated: pass it to init
    mode: str | None = data_field()

    def __post_init__(self) -> None:
        self._deprecated_data()
        object.__setattr__(
            self, "correction", resolve_correction(self.correction, self.mode, "StaticWeights")
        )
        object.__setattr__(self, "mode", None)
        check_real("cap", self.cap, lo=1.0)
        check_positive("temperature", self.temperature)
        check_unit("mix", self.mix)
        check_epoch_length(self.epoch_length)

    def init(self, n_examples: int, *, seed: int = 0, **data: Any) -> WeightsState:
        """Compute the bounded weights (``state.weights``, mean 1, max ≤ cap)."""
        n, seed = check_positive_int("n_examples", n_examples), check_seed(seed)
        scores = self._init_data(data)["scores"]
        if scores is None:
            raise SpecurateInputError("StaticWeights needs the init data scores (n,)")
        s = _scores(check_data_array("scores", scores, n), nonneg=True)
        w = bounded_weights(s, temperature=self.temperature, cap=self.cap, mix=self.mix)
        if not abs(w.mean() - 1.0) <= 1e-9:
            k = int(np.count_nonzero(w))
            raise SpecurateInputError(
                f"cap={self.cap} cannot hold mean-1 weights with only {k} of {n} examples "
                "weighted: raise cap, mix or temperature"
            )
        if self.correction == "importance" and not np.all(w > 0):
            raise SpecurateInputError(
                'correction="importance" needs every weight > 0 (some scores are 0): set mix > 0'
            )
        m = n if self.epoch_length is None else int(self.epoch_length)
        return WeightsState(n=n, seed=seed, epoch_length=m, weights=readonly(w))

    def _check_state(self, state: object) -> WeightsState:
        if not isinstance(state, WeightsState):
            raise SpecurateInputError(f"{self.name} got a state of type {type(state).__name__}")
        return state

    def plan(self, state: StrategyState, epoch: int) -> Plan:
        """Systematic draw of ``epoch_length`` indices from p = w/n (see :func:`draw_plan`)."""
        st = self._check_state(state)
        return draw_plan(
            st.weights, st.epoch_length, epoch_rng(st, epoch), correction=self.correction
        )

    def expected_weights(self, state: StrategyState) -> np.ndarray:
        r"""E[Σ_j scale_j 1{idx_j = i}]/m: p_i = w_i/Σw (reweight), 1/n·1{w_i>0} (importance).

        Exact because systematic sampling gives E[count_i] = m p_i.
        """
        w = self._check_state(state).weights
        p = w / w.sum()
        if self.correction == "reweight":
            return p
        return np.where(p > 0, 1.0 / state.n, 0.0)
