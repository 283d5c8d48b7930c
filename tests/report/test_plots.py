"""Figures: one colour per name in every figure, spectra cut at the noise floor, labels and
legends off the data."""

from types import SimpleNamespace as NS

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from specurate.report.experiments import noise_figure
from specurate.report.plots import plot_dynamics, plot_reweight, plot_spectrum, plot_speedups
from specurate.report.style import _FALLBACK, BASELINE_NAMES, COLORS, color


def test_every_named_colour_is_distinct_except_the_baselines_black():
    named = {n: to_hex(c) for n, c in COLORS.items() if n not in BASELINE_NAMES}
    by_colour: dict[str, list[str]] = {}
    for n, c in named.items():
        by_colour.setdefault(c, []).append(n)
    assert all(len(v) == 1 for v in by_colour.values()), {
        c: v for c, v in by_colour.items() if len(v) > 1
    }
    assert {to_hex(COLORS[n]) for n in BASELINE_NAMES} == {"#000000"}
    assert {"uniform", "baseline", "full data", "none"} <= BASELINE_NAMES
    # a name this module does not know never takes a built-in name's colour
    assert not {to_hex(c) for c in _FALLBACK} & set(named.values())
    assert to_hex(color("my-own-strategy")) in {to_hex(c) for c in _FALLBACK}


def _lines_by_label(ax):
    return {ln.get_label(): to_hex(ln.get_color()) for ln in ax.get_lines()}


def test_a_name_has_the_same_colour_in_different_figures():
    names = ["uniform", "frontier", "loss", "balanced"]
    rows = [
        {"strategy": n, "speedup": s, "speedup_lo": s / 1.5, "speedup_hi": s * 1.5}
        for n, s in zip(names, (1.0, 3.0, 2.0, 4.0), strict=True)
    ]
    bars = plot_speedups(rows).axes[0]
    bar_colours = [to_hex(p.get_facecolor(), keep_alpha=False) for p in bars.patches]
    noise = {
        "rates": [
            {
                "rate": rate,
                "strategies": [
                    {"strategy": n, "speedup": 1.0 + i, "share_curve": [[1, 0.1], [2, 0.2]]}
                    for i, n in enumerate(names)
                ],
            }
            for rate in (0.1, 0.3)
        ]
    }
    lines = _lines_by_label(noise_figure(noise).axes[0])
    for name, bar in zip(names, bar_colours, strict=True):
        assert bar == lines[name] == to_hex(color(name)), name


def _trajectory(slope):
    t = np.geomspace(1, 1e4, 60)
    return NS(compute=t, t=t, loss=t**-slope, k_star=t**0.7)


def test_simulator_policies_take_their_own_colours():
    labels = ["baseline", "oracle (κ=10)", "probe", "self-score", "soft-oracle"]
    fig = plot_dynamics({lab: _trajectory(0.2 + 0.05 * i) for i, lab in enumerate(labels)})
    drawn = _lines_by_label(fig.axes[0])
    assert [drawn[lab] for lab in labels] == [to_hex(color(lab)) for lab in labels]
    assert len(set(drawn.values())) == len(labels)
    _assert_legend_off_the_data(fig)


def _assert_legend_off_the_data(fig):
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), "legend over an axes"


def _spectrum_report(lam, floor):
    fit = NS(fit_range=(2, 30), log_c=0.0, b=1.5, floor=floor)
    return NS(eigenvalues=lam, fit=fit, b_ci=(1.45, 1.55), kernel="linear", n=500, target=None)


@pytest.mark.parametrize("floor", [0.0, 1e-4])
def test_spectra_stop_at_the_noise_floor_and_drop_numerical_zeros(floor):
    k = np.arange(1, 81, dtype=float)
    lam = np.concatenate([k**-1.5 + floor, np.full(20, 1e-18)])  # 20 numerical zeros
    rep = _spectrum_report(lam, floor)
    ax = plot_spectrum(rep).axes[0]
    points = ax.get_lines()[0].get_ydata()
    assert points.size == 80 and points.min() > 1e-12
    bottom = ax.get_ylim()[0]
    assert bottom >= (floor or points.min()) / 2.5
    floors = [ln for ln in ax.get_lines() if ln.get_label().startswith("noise floor")]
    if floor:
        (line,) = floors
        assert line.get_linestyle() == "--" and line.get_ydata()[0] == pytest.approx(floor)
    else:
        assert not floors
    assert "20 numerical zeros not shown" in ax.get_lines()[0].get_label()


def test_reweighted_spectra_drop_numerical_zeros_too():
    k = np.arange(1, 51, dtype=float)
    lam = np.concatenate([k**-1.2, np.zeros(5) + 1e-19])
    lw = np.concatenate([1.5 * k**-1.3, np.zeros(5) + 3e-18])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(lam > 1e-12, lw / lam, np.nan)
    rep = NS(
        eigenvalues=lam,
        eigenvalues_w=lw,
        fit=NS(fit_range=(2, 30), floor=0.0),
        fit_w=NS(floor=0.0),
        b=1.2,
        b_w=1.3,
        C=2.0,
        ratios=ratios,
        tail_ratio=1.1,
        k0=3,
    )
    fig = plot_reweight(rep)
    ax = fig.axes[0]
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size > 2:
            assert y.min() > 1e-12, line.get_label()
    assert ax.get_ylim()[0] > 1e-12
    _assert_legend_off_the_data_of(fig.axes[1], fig)


def _assert_legend_off_the_data_of(ax, fig):
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = ax.get_legend().get_window_extent(renderer)
    assert not box.overlaps(ax.get_window_extent(renderer))


def test_bar_labels_sit_beyond_the_error_bars():
    rows = [
        {"strategy": "uniform", "speedup": 1.0, "speedup_lo": 1.0, "speedup_hi": 1.0},
        {"strategy": "oracle", "speedup": 2.2, "speedup_lo": 1.6, "speedup_hi": 3.1},
        {"strategy": "frontier", "speedup": 4.1, "speedup_lo": 3.0, "speedup_hi": 5.6},
        {"strategy": "loss", "speedup": None},
    ]
    fig = plot_speedups(rows)
    ax = fig.axes[0]
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    labels = {t.get_text(): t for t in ax.texts}
    assert set(labels) == {"1×", "2.2×", "4.1×", "never"}
    for i, (text, top) in enumerate((("1×", 1.0), ("2.2×", 3.1), ("4.1×", 5.6))):
        box = labels[text].get_window_extent(renderer)
        cap = ax.transData.transform((i, top))[1]
        assert box.y0 > cap + 1, text  # above the error bar's cap, not on it
        assert box.y1 < axes_box.y1, text  # and inside the axes (headroom)
