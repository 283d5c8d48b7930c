"""One look everywhere: colours are fixed per name and distinct where names meet in one figure;
formatters never print nan/None."""

import math

import pytest

from specurate.bench.presets import STRATEGIES
from specurate.bench.span import SOURCES
from specurate.report.style import color, fmt, fmt_ci, fmt_est


@pytest.mark.parametrize("names", [STRATEGIES, SOURCES], ids=["strategies", "span sources"])
def test_names_drawn_together_get_distinct_colours(names):
    colours = [color(n) for n in names]
    assert len(set(colours)) == len(colours), dict(zip(names, colours, strict=True))


def test_colour_is_a_pure_function_of_the_name():
    assert color("some-user-strategy") == color("some-user-strategy")
    assert color("uniform") == color("baseline") == "black"


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf, "x"])
def test_missing_values_print_as_a_dash(bad):
    assert fmt(bad) == "—"
    assert fmt_ci([bad, 1.0]) == "—" and fmt_ci(None) == "—"
    assert fmt_est(bad, 0.0, 1.0) == "—"


def test_formats():
    assert fmt(1.23456, ".3f") == "1.235"
    assert fmt_ci([0.1, 0.25]) == "[0.100, 0.250]"
    assert fmt_est(2.0, 1.5, 2.5) == "2 [1.5, 2.5]"
    assert fmt_est(2.0, math.nan, 2.5) == "2"


def test_speedup_cells_show_reached_seeds_and_the_all_seed_bound():
    from specurate.report.style import fmt_speedup

    row = {
        "speedup": 4.0,
        "speedup_lo": 3.0,
        "speedup_hi": 5.0,
        "n_reached": 2,
        "n_compared": 3,
        "speedup_bound": 2.52,
        "wall_speedup": 2.0,
        "wall_speedup_bound": 1.59,
    }
    assert fmt_speedup(row) == "4 [3, 5] (2/3), all ≤ 2.52"
    assert fmt_speedup(row, "wall_speedup") == "2 (2/3), all ≤ 1.59"
    full = {**row, "n_reached": 3, "speedup_bound": 4.0}
    assert fmt_speedup(full) == "4 [3, 5] (3/3)"  # nothing censored: no bound to add
    none = {**row, "speedup": math.nan, "n_reached": 0, "speedup_bound": 0.8}
    assert fmt_speedup(none) == "— (0/3), all ≤ 0.8"
    # nothing measured at all (accuracy of a regression task): no counts to show
    regression = {**row, "acc_speedup": math.nan, "acc_speedup_bound": math.nan}
    assert fmt_speedup(regression, "acc_speedup", reached="acc_n_reached") == "—"
