"""The analyses a study is made of, as :class:`~specurate.study.parts.Part` factories: a spectrum
(in memory or streamed over a large file), a weighting analysed as an operator, and the exact
simulator run on the exponents another part measured.

Each factory takes a loader (called in the process that computes the part, so nothing large is
held while waiting) and returns a part whose ``compute`` writes the figure and returns a JSON
dict.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specurate.datasets import Dataset
from specurate.io import UserData
from specurate.report.json import comparison_dict, reweight_dict, spectrum_dict
from specurate.spectrum.estimate import estimate_spectrum
from specurate.spectrum.reweight import analyze_reweighting
from specurate.study.parts import Part

__all__ = ["reweight_part", "simulate_part", "spectrum_part", "streaming_spectrum_part"]

#: eigenvalues kept in a part's JSON (and so in results.json)
TOP = 300


def spectrum_part(
    key: str,
    title: str,
    load: Callable[[], Dataset],
    *,
    kernel: Literal["linear", "rbf"],
    groups: int,
    seed: int,
    truth: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Part:
    """The spectrum of ``load()``'s operator, with delete-one-group jackknife CIs over ``groups``
    groups (:func:`~specurate.spectrum.estimate.estimate_spectrum`), and its figure."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.report.plots import plot_spectrum_report, save

        ds = load()
        rep = estimate_spectrum(ds.x, ds.y, kernel=kernel, groups=groups, seed=seed)
        save(plot_spectrum_report(rep, ds.name), plot_path)
        d = spectrum_dict(rep, top=TOP)
        d.update({"data": ds.name, "truth": dict(truth or {}), **(extra or {})})
        return d

    return Part(key, title, compute, weight=3.0 if kernel == "rbf" else 1.0)


def streaming_spectrum_part(
    key: str,
    title: str,
    source: Any,
    labels: Callable[[], np.ndarray | None],
    *,
    name: str,
    groups: int,
    extra: dict[str, Any] | None = None,
) -> Part:
    """The covariance spectrum of a data source read in chunks of rows (every row, memory
    independent of n: :func:`~specurate.spectrum.large.estimate_spectrum_streaming`), with the
    same jackknife (over ``groups`` contiguous groups of rows) and figure as :func:`spectrum_part`.
    """

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.report.plots import plot_spectrum_report, save
        from specurate.spectrum.large import estimate_spectrum_streaming

        rep = estimate_spectrum_streaming(source, labels(), task="classification", groups=groups)
        save(plot_spectrum_report(rep, name), plot_path)
        d = spectrum_dict(rep, top=TOP)
        d.update({"data": name, "truth": {}, "streamed": True, **(extra or {})})
        return d

    return Part(key, title, compute, weight=2.0)


def sharded_spectrum_part(
    key: str,
    title: str,
    data: UserData,
    *,
    scheduler: str,
    groups: int,
    extra: dict[str, Any] | None = None,
) -> Part:
    """The covariance spectrum of every row of ``data``, its shards read by the workers of the
    Dask cluster at ``scheduler`` (:func:`~specurate.engine.spectrum.sharded_spectrum`: per-shard
    moments merged on the cluster, jackknife over ``groups`` groups of whole shards), with the
    figure of :func:`spectrum_part`."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.engine import open_engine, sharded_spectrum
        from specurate.report.plots import plot_spectrum_report, save

        assert data.path is not None  # checked by run_study
        with open_engine("dask", scheduler=scheduler) as eng:
            rep = sharded_spectrum(
                data.path,
                data.labels,
                engine=eng,
                task="classification",
                groups=groups,
                features=data.features,
                exclude=data.exclude,
            )
        save(plot_spectrum_report(rep, data.name), plot_path)
        d = spectrum_dict(rep, top=TOP)
        d.update({"data": data.name, "truth": {}, "streamed": True, **(extra or {})})
        return d

    return Part(key, title, compute, weight=2.0)


def reweight_part(
    key: str,
    title: str,
    load: Callable[[], tuple[Dataset, np.ndarray] | None],
    *,
    seed: int,
    groups: int,
    extra: dict[str, Any] | None = None,
) -> Part:
    """A weighting analysed as an operator
    (:func:`~specurate.spectrum.reweight.analyze_reweighting`): T_w against T, b_w − b on a
    common rank range with paired delete-one-group jackknife CIs over ``groups`` groups (the
    method of :func:`spectrum_part`). ``load()`` returns the data and the (n,) weights, or None
    when the weighting does not apply (the part is then skipped)."""

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.report.plots import plot_reweight, save

        loaded = load()
        if loaded is None:
            return {
                "kind": "skipped",
                "reason": f"{title}: nothing to analyse (no example is removed or re-weighted)",
            }
        ds, w = loaded
        rep = analyze_reweighting(ds.x, w, seed=seed, ci_method="jackknife", groups=groups)
        save(plot_reweight(rep, title=title), plot_path)
        d = reweight_dict(rep, top=TOP)
        d.update({"kind": "reweight", "data": ds.name, **(extra or {})})
        return d

    return Part(key, title, compute)


def simulate_part(
    key: str, title: str, *, spectrum: str, data: str, quick: bool, seed: int
) -> Part:
    """Every curation policy in the exact simulator (:func:`~specurate.dynamics.compare.compare`)
    on the exponents (a, b) that part ``spectrum`` measured — the same b the report shows."""

    def compute(plot_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
        from specurate.dynamics.compare import compare
        from specurate.report.plots import plot_compare, save

        a, b = spec.get("a"), spec.get("b")
        if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)) or a <= 1 or b <= 0:
            return {
                "kind": "skipped",
                "reason": f"the simulator needs a > 1 and b > 0; {data} measured a = {a}, b = {b}",
            }
        cmp = compare(
            float(a),
            float(b),
            n_modes=20_000 if quick else 200_000,
            t_max=1e5 if quick else 1e7,
            mass_modes=200_000 if quick else 1_000_000,
            seed=seed,
        )
        save(plot_compare(cmp), plot_path)
        out = comparison_dict(cmp, curves=False)
        out.update(
            {
                "kind": "simulate",
                "data": data,
                "measured_a": float(a),
                "measured_b": float(b),
                "spectrum_part": spectrum,
            }
        )
        return out

    return Part(key, title, compute, needs=(spectrum,), weight=2.0)
