"""The random-stream registry (specurate._rng): every stream is the seed plus its registered tag,
no two streams share one by accident, and no module builds a tagged generator by hand."""

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest

import specurate
from specurate import _rng
from specurate.errors import SpecurateInputError

PACKAGE = Path(specurate.__file__).parent
SEEDS = [0, 1, 7, 12345, 2**32 + 3]


@pytest.mark.parametrize("name", sorted(_rng.STREAMS))
def test_stream_is_seed_then_tag(name):
    tag = _rng.STREAMS[name]
    # extra words (epoch, replicate, sub-stream) follow the tag
    words = (3, 0, 5)[: _rng.WORDS.get(name, 0)]
    for seed in SEEDS:
        want = np.random.default_rng([seed, *tag, *words]).integers(0, 2**62, size=8)
        got = _rng.stream(name, seed, *words).integers(0, 2**62, size=8)
        np.testing.assert_array_equal(got, want)
        want = np.random.default_rng([seed, *tag, *words]).random(4)
        np.testing.assert_array_equal(_rng.stream(name, seed, *words).random(4), want)


def test_word_count_is_enforced():
    with pytest.raises(TypeError, match="takes 2 extra words"):
        _rng.stream("curation.epoch", 0, 1)
    with pytest.raises(TypeError, match="takes 0 extra words"):
        _rng.stream("tasks.train", 0, 1)


def test_root_stream_is_the_bare_seed():
    # default_rng(seed) and default_rng([seed]) are the same SeedSequence entropy
    for seed in SEEDS:
        np.testing.assert_array_equal(
            _rng.stream("root", seed).random(5), np.random.default_rng(seed).random(5)
        )


def test_numpy_integer_seeds_give_the_same_stream():
    a = _rng.stream("curation.static.select", np.int64(5)).random(3)
    b = _rng.stream("curation.static.select", 5).random(3)
    np.testing.assert_array_equal(a, b)


def _space(name: str) -> tuple[int | None, ...]:
    """The entropy after the seed: the tag's words, then None for each free word."""
    return (*_rng.STREAMS[name], *([None] * _rng.WORDS.get(name, 0)))


def _overlap(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> bool:
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=False)
    )


def test_no_two_streams_can_draw_the_same_numbers_unless_declared():
    # two streams meet iff some seed and words give both the same entropy [seed, ...]
    for a, b in itertools.combinations(sorted(_rng.STREAMS), 2):
        if _overlap(_space(a), _space(b)):
            assert any({a, b} <= group for group in _rng.SHARED), (
                f"streams {a} and {b} can give the same random numbers; give one a new tag "
                "or declare the overlap in _rng.SHARED"
            )


def test_the_overlap_check_sees_planted_collisions():
    assert _overlap((1,), (1,)) and not _overlap((1,), (2,)) and not _overlap((1,), (1, None))
    assert _overlap((None, None), (1434, None)) and _overlap((), ())


def test_shared_groups_name_registered_streams():
    for group in _rng.SHARED:
        assert group <= set(_rng.STREAMS), group - set(_rng.STREAMS)
        names = sorted(group)
        assert all(_overlap(_space(names[0]), _space(n)) for n in names[1:]), group


def test_distinct_names_give_distinct_numbers():
    # a different tag is a different SeedSequence: the first draws differ
    draws = {
        name: tuple(_rng.stream(name, 0, *[0] * _rng.WORDS.get(name, 0)).integers(0, 2**62, size=2))
        for name in _rng.STREAMS
        if not any(name in g for g in _rng.SHARED)
    }
    for a, b in itertools.combinations(draws, 2):
        assert draws[a] != draws[b], (a, b)


def test_unknown_name_and_bad_seed_are_rejected():
    with pytest.raises(KeyError, match=r"unregistered random stream 'no\.such\.stream'"):
        _rng.stream("no.such.stream", 0)
    for seed in (-1, 1.5, True, "3"):
        with pytest.raises(SpecurateInputError, match="seed must be a non-negative integer"):
            _rng.stream("root", seed)  # type: ignore[arg-type]
    with pytest.raises(SpecurateInputError, match="stream word"):
        _rng.stream("curation.epoch", 0, -1, 0)


def test_offset_seeds():
    for name, offset in _rng.SEED_OFFSETS.items():
        assert _rng.offset_seed(name, 5) == 5 + offset
    with pytest.raises(SpecurateInputError):
        _rng.offset_seed("tune", -1)


# ----------------------------------------------------------------------------- source scan
def _hand_tagged_calls(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """``default_rng([...])`` calls whose argument is a list/tuple literal of two or more entries:
    a seed followed by a hand-picked tag (a number or a named constant)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        arg = node.args[0]
        if name == "default_rng" and isinstance(arg, ast.List | ast.Tuple) and len(arg.elts) > 1:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def _scan(files: list[Path]) -> list[str]:
    return [hit for f in files for hit in _hand_tagged_calls(f)]


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "_rng.py")


def test_scan_finds_a_hand_tagged_generator(tmp_path):
    # the scan itself works: it flags literals and named tags, not seeds or docstrings
    f = tmp_path / "example.py"
    f.write_text(
        '"""Docs may show ``np.random.default_rng([seed, 7])``."""\n'
        "import numpy as np\n"
        "from numpy.random import default_rng\n"
        "a = np.random.default_rng([seed, 7])\n"
        "b = default_rng((seed, TAG, epoch))\n"
        "c = np.random.default_rng(seed)\n"
        "d = np.random.default_rng([seed])\n"
    )
    hits = _hand_tagged_calls(f, tmp_path)
    assert [h.split(":")[1] for h in hits] == ["4", "5"]


def test_no_hand_tagged_generators_outside_the_registry():
    # Every tagged stream comes from _rng.stream(name, seed, ...): a new stream is a new
    # registered name, and test_no_two_names_share_a_tag_unless_declared keeps tags apart.
    hits = _scan(SOURCES)
    assert not hits, "use specurate._rng.stream (register the tag):\n" + "\n".join(hits)
