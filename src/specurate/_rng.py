"""Every random stream of specurate, by name, in one registry.

A stream is ``numpy.random.default_rng([seed, *tag, *words])``: a SeedSequence whose entropy is
the user's seed followed by the stream's fixed tag (and, for per-epoch or per-replicate streams,
a few more words such as the epoch). Two computations that must not share random numbers use
different names; :data:`STREAMS` maps each name to its tag and ``tests/test_rng.py`` checks that no
two names share one — except the ones listed together in :data:`SHARED`, which are reused on
purpose (each task draws its training set from ``tasks.train``: different tasks never combine).

Tags are the values the streams had before this registry existed, so every seeded number of
earlier releases is unchanged. Bare ``default_rng(seed)`` is the stream ``root`` (tag ``()``).

Seed *offsets* (an independent draw of a task for tuning, the seeds of scoring models) are
registered in :data:`SEED_OFFSETS` for the same reason.
"""

from __future__ import annotations

import numpy as np

from specurate._validate import check_int, check_seed

__all__ = ["SEED_OFFSETS", "SHARED", "STREAMS", "WORDS", "offset_seed", "stream"]

STREAMS: dict[str, tuple[int, ...]] = {
    # the bare seed: planted data, simulator contexts, sample-level runs, jackknife folds,
    # randomized sketches, the study's random-pruning control (each a different computation)
    "root": (),
    # curation (library)
    "curation.epoch": (),  # + (epoch, sub-stream): epoch_rng's per-plan generator
    "curation.static.select": (7,),
    "curation.frontier.members": (11,),
    # built-in tasks (specurate.bench.tasks)
    "tasks.train": (1,),
    "tasks.test": (2,),
    "tasks.clusters.centres": (0xC1,),
    "tasks.mnist1d.class_order": (0x17,),
    "tasks.mnist1d.draw": (0x18,),
    "tasks.mode_local.modes": (0x3D,),
    "tasks.gaussian.target": (0x6A,),
    "tasks.teacher.weights": (0x7E,),
    "tasks.digits.split": (0xD1,),
    "tasks.mnist5k.split": (0x5C,),
    # experiments (specurate.bench)
    "experiments.noise.labels": (0x401,),
    "experiments.span": (0x59A,),  # + (sub-stream,): 0 signs, 1–3 teachers, 4 synthetic draws
    "experiments.static.spectral_subsample": (0x5E,),
    # two tag words: no other stream has entropy of length 4, so none can meet it
    "experiments.separation": (0x5E9, 0x5E9),  # + (strategy index,): the batches of one run
    # the rows of a user data set that a study analyses in memory (specurate run DATA)
    "study.subsample": (0x5AB,),
    "nystrom.landmarks": (0x4E7,),  # the landmark rows of a Nyström kernel spectrum
    "scores.sample": (0x5C0,),  # the rows k-means is fitted on in specurate score
}

#: how many extra words (epoch, sub-stream, …) each stream takes after its tag (default 0);
#: :func:`stream` enforces the count, so the entropy [seed, *tag, *words] of a stream has a
#: fixed length and two streams can only meet where their lengths and fixed words agree
WORDS: dict[str, int] = {
    "curation.epoch": 2,  # (epoch, sub-stream)
    "experiments.span": 1,  # (sub-stream,)
    "experiments.separation": 1,  # (strategy index,)
}

#: names whose entropy can coincide, on purpose or harmlessly (``tests/test_rng.py`` finds every
#: overlap of [seed, *tag, *words] spaces and requires it to be listed here)
SHARED: tuple[frozenset[str], ...] = (
    # [seed, 1434, s] is also curation.epoch at epoch 1434, sub-stream s: the span experiment
    # trains without a curation strategy, so the two never meet in one computation
    frozenset({"experiments.span", "curation.epoch"}),
)

SEED_OFFSETS: dict[str, int] = {
    "tune": 1000,  # the independent draw of a task on which learning rates are tuned
    "static.scoring_models": 10_007,  # scoring models of the static sweep vs training seeds
}


def stream(name: str, seed: int, *words: int) -> np.random.Generator:
    """The generator of stream ``name`` for ``seed``: ``default_rng([seed, *tag, *words])``.

    Args:
        name: a key of :data:`STREAMS`.
        seed: the user's seed (an integer ≥ 0).
        words: extra non-negative integers (epoch, replicate, sub-stream).
    """
    if name not in STREAMS:
        raise KeyError(f"unregistered random stream {name!r}; add it to specurate._rng.STREAMS")
    if len(words) != WORDS.get(name, 0):
        raise TypeError(f"stream {name!r} takes {WORDS.get(name, 0)} extra words, got {len(words)}")
    entropy = [check_seed(seed), *STREAMS[name]]
    entropy += [check_int("stream word", w, lo=0) for w in words]
    return np.random.default_rng(entropy)


def offset_seed(name: str, seed: int) -> int:
    """``seed + SEED_OFFSETS[name]``: the seed of a registered independent draw."""
    return check_seed(seed) + SEED_OFFSETS[name]
