"""Static curation: score functions on hand-computed examples, subset and weight strategies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from specurate.curation.base import Accounting
from specurate.curation.static import (
    KeepMask,
    StaticSubset,
    StaticWeights,
    el2n_scores,
    entropy_scores,
    forgetting_scores,
    grand_scores,
    kmeans_prototypes,
    least_confidence_scores,
    margin_scores,
    near_duplicates,
    prototype_scores,
)
from specurate.errors import SpecurateInputError

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

PROBS = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
LABELS = np.array([0, 1, 2])


# ------------------------------------------------------------------------------- scores


def test_el2n_hand_computed_and_seed_average() -> None:
    want = [
        math.sqrt(0.3**2 + 0.2**2 + 0.1**2),
        math.sqrt(0.5**2 + 0.5**2),
        math.sqrt(1 + 1),
    ]
    np.testing.assert_allclose(el2n_scores(PROBS, LABELS), want)
    # (S, n, K): the per-run norms are averaged.
    other = np.eye(3)[LABELS]  # perfect predictions: norm 0
    np.testing.assert_allclose(el2n_scores(np.stack([PROBS, other]), LABELS), np.array(want) / 2)


def test_el2n_perfect_predictions_are_zero() -> None:
    y = np.array([2, 0, 1, 1])
    np.testing.assert_array_equal(el2n_scores(np.eye(3)[y], y), np.zeros(4))


def test_grand_averages_runs() -> None:
    np.testing.assert_allclose(grand_scores([1.0, 2.0]), [1.0, 2.0])
    np.testing.assert_allclose(grand_scores([[1.0, 2.0], [3.0, 0.0]]), [2.0, 1.0])


def test_forgetting_counts() -> None:
    # columns: learned once and kept; forgotten twice; never learned; forgotten once at the end
    hist = np.array(
        [
            [0, 1, 0, 1],
            [1, 0, 0, 1],
            [1, 1, 0, 1],
            [1, 0, 0, 0],
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(forgetting_scores(hist), [0, 2, 4, 1])
    np.testing.assert_array_equal(forgetting_scores(hist.astype(int)), [0, 2, 4, 1])


def test_uncertainty_scores_hand_computed() -> None:
    np.testing.assert_allclose(margin_scores(PROBS), [1 - 0.5, 1.0, 0.0])
    np.testing.assert_allclose(least_confidence_scores(PROBS), [0.3, 0.5, 0.0])
    h0 = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    np.testing.assert_allclose(entropy_scores(PROBS), [h0, math.log(2), 0.0], atol=1e-15)
    # (S, n, K) probabilities are averaged before scoring.
    both = np.stack([PROBS, PROBS[::-1]])
    np.testing.assert_allclose(least_confidence_scores(both), least_confidence_scores(both.mean(0)))


def test_prototype_scores_match_direct_distances() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, size=(20, 3)) for c in (-2.0, 0.5, 3.0)])
    for normalize in (True, False):
        mu = kmeans_prototypes(x, n_clusters=3, seed=1, normalize=normalize)
        z = x / np.linalg.norm(x, axis=1, keepdims=True) if normalize else x
        direct = np.min(np.linalg.norm(z[:, None, :] - mu[None], axis=2), axis=1)
        got = prototype_scores(x, n_clusters=3, seed=1, normalize=normalize)
        np.testing.assert_allclose(got, direct, atol=1e-10)
        given_mu = prototype_scores(x, centroids=mu, normalize=normalize)
        np.testing.assert_allclose(given_mu, direct, atol=1e-10)


def test_prototype_scores_explicit_centroids() -> None:
    x = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    mu = np.array([[0.0, 0.0], [10.0, 1.0]])
    np.testing.assert_allclose(prototype_scores(x, centroids=mu, normalize=False), [0, 5, 1])


def test_near_duplicates_planted() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(30, 16))  # random directions: pairwise cosine distance ≫ 0.01
    x = np.concatenate(
        [
            base,
            base[[0, 5]],  # exact copies (30, 31)
            3.0 * base[[7]],  # same direction (32)
            base[[9, 9]] + 1e-3 * rng.normal(size=(2, 16)),  # near copies (33, 34)
        ]
    )
    keep = near_duplicates(x, threshold=0.01)
    want = np.ones(len(x), dtype=bool)
    want[30:] = False
    np.testing.assert_array_equal(keep, want)
    # Exact duplicates only: the near copies survive.
    keep0 = near_duplicates(x, threshold=0.0)
    want[33:] = True
    np.testing.assert_array_equal(keep0, want)
    # The lowest index of a group is kept even when the copy comes first.
    assert near_duplicates(x[::-1], threshold=0.01)[len(x) - 1 - 30] is np.True_


# ------------------------------------------------------------------------------- subsets


def _check_static_contract(strategy, n: int, seed: int = 5, **data) -> None:
    state = strategy.init(n, seed=seed, **data)
    p0, p0b, p1 = strategy.plan(state, 0), strategy.plan(state, 0), strategy.plan(state, 1)
    np.testing.assert_array_equal(p0.indices, p0b.indices)
    np.testing.assert_array_equal(p0.loss_scale, p0b.loss_scale)
    assert not np.array_equal(p0.indices, p1.indices)
    for p in (p0, p1):
        assert len(p) == state.epoch_length and p.loss_scale.shape == (state.epoch_length,)
        assert p.indices.dtype == np.int64
        assert p.indices.min() >= 0 and p.indices.max() < n
    # 0.2: update only charges the trained examples (was: returns the same state object)
    new = strategy.update(state, p0.indices[:3], {"loss": np.ones(3)})
    assert new.accounting == Accounting(3) and state.accounting == Accounting()
    np.testing.assert_array_equal(strategy.plan(new, 4).indices, strategy.plan(state, 4).indices)
    other = strategy.init(n, seed=seed, **data)
    np.testing.assert_array_equal(strategy.plan(other, 3).indices, strategy.plan(state, 3).indices)


def test_static_subset_keeps_round_fraction_and_right_ends() -> None:
    scores = np.arange(20, dtype=float)[::-1]  # example i has score 19 - i
    for keep, k in ((0.3, 6), (0.25, 5), (0.125, 3), (1.0, 20)):  # 0.125·20 = 2.5 → 3
        hard = StaticSubset(keep=keep, prefer="hard").init(20, seed=0, scores=scores)
        easy = StaticSubset(keep=keep, prefer="easy").init(20, seed=0, scores=scores)
        np.testing.assert_array_equal(hard.kept, np.arange(k))
        np.testing.assert_array_equal(easy.kept, np.arange(20 - k, 20))
        assert hard.epoch_length == k and hard.keep_fraction == k / 20
    rand = StaticSubset(keep=0.3, prefer="random")
    a, b = rand.init(20, seed=0), rand.init(20, seed=1)
    assert a.kept.size == 6 and len(set(a.kept.tolist())) == 6
    np.testing.assert_array_equal(a.kept, rand.init(20, seed=0).kept)
    assert not np.array_equal(a.kept, b.kept)
    # random ignores scores when given; ties among scores are broken by index
    np.testing.assert_array_equal(rand.init(20, seed=0, scores=scores).kept, a.kept)
    tied = StaticSubset(keep=0.25, prefer="hard").init(8, scores=[1.0, 2, 2, 2, 0, 0, 2, 1])
    np.testing.assert_array_equal(tied.kept, [1, 2])


def test_static_subset_class_balanced() -> None:
    labels = np.array([0] * 10 + [1] * 6 + [2] * 4)
    scores = np.random.default_rng(0).random(20)
    s = StaticSubset(keep=0.5, prefer="hard").init(20, seed=0, scores=scores, class_labels=labels)
    kept = s.kept
    np.testing.assert_array_equal(np.bincount(labels[kept]), [5, 3, 2])
    for c in range(3):
        idx = np.flatnonzero(labels == c)
        top = idx[np.argsort(-scores[idx])[: len(kept[labels[kept] == c])]]
        assert set(top.tolist()) == set(kept[labels[kept] == c].tolist())


def test_static_subset_plans() -> None:
    scores = np.random.default_rng(1).random(50)
    s = StaticSubset(keep=0.4, prefer="easy")
    _check_static_contract(s, 50, scores=scores)
    state = s.init(50, seed=2, scores=scores)
    p = s.plan(state, 4)
    np.testing.assert_array_equal(np.sort(p.indices), state.kept)  # each kept once
    np.testing.assert_array_equal(p.loss_scale, np.ones(20))
    assert s.kept(state) is state.kept
    # A longer epoch repeats the subset: counts ⌊m/k⌋ or ⌈m/k⌉, exactly m entries.
    long = StaticSubset(keep=0.4, prefer="easy", epoch_length=50)
    state = long.init(50, seed=2, scores=scores)
    counts = np.bincount(long.plan(state, 0).indices, minlength=50)[state.kept]
    assert counts.sum() == 50 and set(counts.tolist()) <= {2, 3}
    ew = long.expected_weights(state)
    assert math.isclose(ew.sum(), 1.0) and np.count_nonzero(ew) == 20


def test_keep_mask() -> None:
    mask = np.zeros(30, dtype=bool)
    mask[[1, 4, 9, 20, 29]] = True
    km = KeepMask()
    _check_static_contract(km, 30, mask=mask)
    state = km.init(30, seed=0, mask=mask)
    np.testing.assert_array_equal(np.sort(km.plan(state, 0).indices), [1, 4, 9, 20, 29])
    # kept indices instead of a mask: deduplicated and sorted, the same state
    by_idx = km.init(30, seed=0, indices=np.array([29, 1, 9, 4, 20, 4]))
    np.testing.assert_array_equal(by_idx.kept, state.kept)
    assert km.init(30, seed=0, mask=mask, indices=None).kept.size == 5
    longer = KeepMask(epoch_length=12).init(30, mask=mask)
    assert len(KeepMask(epoch_length=12).plan(longer, 0)) == 12


# ------------------------------------------------------------------------------- weights


@settings(max_examples=40, deadline=None)
@given(
    scores=hnp.arrays(float, st.integers(2, 40), elements=st.floats(0, 100)),
    temperature=st.floats(0.2, 5),
    cap=st.floats(1, 20),
    mix=st.floats(0, 1),
)
@example(  # found by CI: 1e-300^(1/0.5) underflowed to weight 0 before the log-space cap
    scores=np.array([1.0] * 5 + [1e-300] + [1.0] * 6 + [0.0] * 16),
    temperature=0.5,
    cap=2.5,
    mix=0.0,
)
def test_static_weights_bounded_and_normalized(scores, temperature, cap, mix) -> None:
    s = StaticWeights(cap=cap, temperature=temperature, mix=mix)
    try:
        w = s.init(scores.size, seed=0, scores=scores).weights
    except SpecurateInputError:
        # Only when C times the number of weighted examples cannot reach mean 1.
        assert mix == 0 and np.count_nonzero(scores) * cap < scores.size * (1 + 1e-6)
        return
    assert np.all(w >= 0)
    assert w.max() <= cap
    assert math.isclose(w.mean(), 1.0, rel_tol=1e-9)


def test_static_weights_draw_frequencies() -> None:
    n, m, epochs = 20, 50, 2000
    scores = np.random.default_rng(0).random(n) + 0.05
    s = StaticWeights(cap=3.0, temperature=0.5, epoch_length=m)
    _check_static_contract(s, n, scores=scores)
    state = s.init(n, seed=11, scores=scores)
    p = s.expected_weights(state)
    assert math.isclose(p.sum(), 1.0)
    counts = sum(np.bincount(s.plan(state, e).indices, minlength=n) for e in range(epochs))
    # Systematic sampling: each epoch's count_i lies in {⌊m p_i⌋, ⌈m p_i⌉} (an interval of
    # length 1) with mean m p_i, and epochs are independent. Hoeffding: P(|Σ − E Σ| ≥ t) ≤
    # 2 exp(−2t²/E); a union bound over n examples at total level 1e-6 gives the tolerance.
    tol = math.sqrt(epochs * math.log(2 * n / 1e-6) / 2)
    assert np.all(np.abs(counts - epochs * m * p) <= tol)
    # The per-epoch counts themselves are floor/ceil of m p_i.
    c0 = np.bincount(s.plan(state, 0).indices, minlength=n)
    assert np.all((c0 >= np.floor(m * p - 1e-9)) & (c0 <= np.ceil(m * p + 1e-9)))


def test_static_weights_importance_correction() -> None:
    rng = np.random.default_rng(4)
    n = 25
    scores = rng.random(n) ** 3
    s = StaticWeights(cap=4.0, mix=0.1, correction="importance")
    # 0.2: unbiasedness is a property of the instance (declares_unbiased), not the class
    assert s.declares_unbiased and not StaticWeights(cap=4.0).declares_unbiased
    _check_static_contract(s, n, scores=scores)
    state = s.init(n, seed=0, scores=scores)
    g = rng.normal(size=n)
    assert math.isclose(float(s.expected_weights(state) @ g), float(g.mean()), rel_tol=1e-12)
    plan = s.plan(state, 0)
    w = state.weights
    np.testing.assert_allclose(plan.loss_scale, 1.0 / w[plan.indices])
    # Zero scores without mixing cannot be importance-weighted.
    with pytest.raises(SpecurateInputError, match="mix"):
        StaticWeights(cap=4.0, correction="importance").init(
            n, seed=0, scores=np.r_[0.0, scores[1:]]
        )


def test_static_weights_closed_form() -> None:
    s = StaticWeights(cap=1.5)
    st = s.init(4, seed=0, scores=[1.0, 2.0, 3.0, 6.0])
    # uncapped: s / mean(s) = [1/3, 2/3, 1, 2]; the cap 1.5 takes 0.5 from the last one and
    # water-fills it over the rest in proportion: ×(1 + 0.5/2) on [1/3, 2/3, 1]
    np.testing.assert_allclose(st.weights, [5 / 12, 5 / 6, 5 / 4, 1.5], rtol=1e-12)
    t = StaticWeights(cap=10.0, temperature=0.5, mix=0.2)
    u = np.array([1.0, 2.0, 3.0, 6.0]) ** 2
    want = 0.8 * u / u.mean() + 0.2
    np.testing.assert_allclose(t.init(4, scores=[1.0, 2.0, 3.0, 6.0]).weights, want, rtol=1e-12)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make",
    [
        lambda: StaticSubset(keep=0.5).init(3, scores=[1.0, np.nan, 2.0]),
        lambda: StaticSubset(keep=0.0),
        lambda: StaticSubset(keep=1.5),
        lambda: StaticSubset(keep=0.5, prefer="middle"),
        lambda: StaticSubset(keep=0.5, prefer="hard").init(2),  # no scores
        lambda: StaticSubset(keep=0.5).init(2, scores=[1.0, 2.0], class_labels=[0, 1, 1]),
        lambda: StaticSubset(keep=0.5).init(4, scores=[1.0, 2.0, 3.0]),
        lambda: StaticSubset(keep=0.1).init(3, scores=[1.0, 2.0, 3.0]),  # empty subset
        lambda: StaticSubset(keep=0.2).init(11, scores=np.ones(11), class_labels=[0] * 10 + [1]),
        lambda: StaticSubset(keep=0.5, epoch_length=0),
        lambda: StaticSubset(keep=0.5).init(2, scores=[1.0, 2.0], labels=[0, 1]),  # unknown name
        lambda: KeepMask().init(4, mask=np.zeros(4, dtype=bool)),
        lambda: KeepMask().init(5, mask=np.ones(4, dtype=bool)),
        lambda: KeepMask().init(4, mask=np.ones(4)),  # not boolean
        lambda: KeepMask().init(4, indices=[0, 4]),
        lambda: KeepMask().init(4, mask=np.ones(4, dtype=bool), indices=[0]),
        lambda: StaticWeights(cap=0.5),
        lambda: StaticWeights(cap=2.0).init(2, scores=[1.0, np.nan]),
        lambda: StaticWeights(cap=2.0).init(2, scores=[1.0, -1.0]),
        lambda: StaticWeights(cap=2.0, correction="biased"),
        lambda: StaticWeights(cap=2.0).init(3, scores=[1.0, 2.0]),
        lambda: StaticWeights(cap=2.0).init(3, scores=[1.0, 0.0, 0.0]),  # cap cannot hold
        lambda: el2n_scores(PROBS, LABELS[:2]),
        lambda: el2n_scores(PROBS, [0, 1, 3]),
        lambda: el2n_scores(np.log(PROBS + 1e-9), LABELS),
        lambda: margin_scores(np.ones((3, 1))),
        lambda: entropy_scores(np.full((2, 2), np.nan)),
        lambda: grand_scores([1.0, np.nan]),
        lambda: forgetting_scores(np.array([[0, 2]])),
        lambda: prototype_scores(np.zeros((3, 2)), n_clusters=2),
        lambda: prototype_scores(np.ones((3, 2)), n_clusters=5),
        lambda: near_duplicates(np.ones((3, 2)), threshold=3.0),
    ],
)
def test_bad_input_raises(make) -> None:
    with pytest.raises(SpecurateInputError):
        make()


def test_plan_rejects_negative_epoch() -> None:
    s = StaticSubset(keep=1.0)
    with pytest.raises(SpecurateInputError):
        s.plan(s.init(2, scores=[1.0, 2.0]), -1)
