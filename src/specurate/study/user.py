"""The parts of ``specurate run DATA``: the study on a user's own data set.

* **spectrum** of the covariance over every row (streamed in chunks when the data set is larger
  than :data:`IN_MEMORY` rows), with the target alignment a and the predicted loss exponent
  (a − 1)/b when labels are given, and model comparison (power law vs cutoff vs exponential);
* the **RBF-kernel** spectrum on a random subsample of at most :data:`KERNEL_ROWS` rows;
* every **weighting** as an operator — the user's own (``--weights``) and the model-free ones of
  :func:`~specurate.study.weightings.static_weightings` (random control, keep-easy, keep-hard,
  up-weight-hard, near-duplicate removal) — on a random subsample of at most :data:`IN_MEMORY`
  rows;
* the exact **simulator** on the measured a and b (with labels);
* with ``--groups``, the **group masses** and what curation can buy on them (closed form:
  uniform vs bounded static vs unbounded dynamic allocation, :mod:`specurate.bench.groups`).

Subsamples are uniformly random rows (stream ``study.subsample``), the same for every part.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specurate._rng import stream
from specurate.datasets import Dataset
from specurate.study.analyses import (
    reweight_part,
    sharded_spectrum_part,
    simulate_part,
    spectrum_part,
    streaming_spectrum_part,
)
from specurate.study.parts import Part
from specurate.study.weightings import DEDUP, WEIGHTINGS, static_weightings

if TYPE_CHECKING:
    from specurate.io import UserData

__all__ = ["IN_MEMORY", "KERNEL_ROWS", "user_parts"]

#: rows analysed in memory (more: the spectrum is streamed, the weightings use a subsample)
IN_MEMORY = {True: 5_000, False: 20_000}
#: rows of the RBF kernel's n × n Gram matrix
KERNEL_ROWS = {True: 1_000, False: 2_000}


def subsample(n: int, m: int, seed: int) -> np.ndarray | None:
    """Sorted indices of ``m`` of ``n`` rows drawn uniformly without replacement (None: all)."""
    if n <= m:
        return None
    return np.sort(stream("study.subsample", seed).choice(n, m, replace=False))


def user_parts(
    data: UserData, *, quick: bool, seed: int, scheduler: str | None = None
) -> list[Part]:
    """The parts of the study of ``data`` (smaller subsamples and fewer groups if ``quick``).

    With ``scheduler`` (a Dask scheduler's address) the covariance spectrum of every row is
    computed by that cluster's workers, shard by shard; the other parts run here on
    subsamples as without it."""
    jk = 10 if quick else 20
    n, name = data.rows.n, data.name
    rows = subsample(n, IN_MEMORY[quick], seed)
    m = n if rows is None else rows.size

    @functools.cache
    def memory() -> Dataset:
        x = data.load(rows=rows)
        y = None if data.labels is None else data.labels if rows is None else data.labels[rows]
        return Dataset(name=name, x=x, y=y, task="classification", truth={})

    @functools.cache
    def kernel_rows() -> Dataset:
        ds = memory()
        pick = subsample(ds.x.shape[0], KERNEL_ROWS[quick], seed)
        if pick is None:
            return ds
        return Dataset(
            name=name,
            x=ds.x[pick],
            y=None if ds.y is None else ds.y[pick],
            task=ds.task,
            truth={},
        )

    @functools.cache
    def weightings() -> dict[str, np.ndarray]:
        ds = memory()
        out = {f"yours: {k}": (w if rows is None else w[rows]) for k, w in data.weights.items()}
        out.update(static_weightings(ds.x, ds.y, fraction=0.5, seed=seed, dedup=True))
        return out

    scope = {"rows": n, "rows_used": n}
    if scheduler is not None:
        spectrum = sharded_spectrum_part(
            "spectrum-linear",
            f"{name}: covariance spectrum (all {n:,} rows, on a Dask cluster)",
            data,
            scheduler=scheduler,
            groups=jk,
            extra={**scope, "engine": "dask"},
        )
    elif rows is None:
        spectrum = spectrum_part(
            "spectrum-linear",
            f"{name}: covariance spectrum ({n:,} rows)",
            memory,
            kernel="linear",
            groups=jk,
            seed=seed,
            extra=scope,
        )
    else:
        spectrum = streaming_spectrum_part(
            "spectrum-linear",
            f"{name}: covariance spectrum (all {n:,} rows, streamed)",
            data.rows,
            lambda: data.labels,
            name=name,
            groups=jk,
            extra=scope,
        )
    k_rows = min(m, KERNEL_ROWS[quick])
    parts = [
        spectrum,
        spectrum_part(
            "spectrum-rbf",
            f"{name}: RBF-kernel spectrum"
            + (f" (random {k_rows:,} of {n:,} rows)" if k_rows < n else ""),
            kernel_rows,
            kernel="rbf",
            groups=jk,
            seed=seed,
            extra={"rows": n, "rows_used": k_rows},
        ),
    ]
    names = [f"yours: {k}" for k in data.weights] + [*WEIGHTINGS, DEDUP]
    for wname in names:
        parts.append(
            reweight_part(
                "reweight-" + wname.replace("yours: ", "user-").replace(" ", "_"),
                f"{name}: {wname}" + (f" (random {m:,} of {n:,} rows)" if m < n else ""),
                _weighted(memory, weightings, wname),
                seed=seed,
                groups=jk,
                extra={"weighting": wname, "rows": n, "rows_used": m},
            )
        )
    if data.labels is not None:
        parts.append(
            simulate_part(
                "simulate",
                f"simulated curation policies on the exponents measured on {name}",
                spectrum="spectrum-linear",
                data=name,
                quick=quick,
                seed=seed,
            )
        )
    if data.groups is not None:
        parts.append(_groups_part(data))
    return parts


def _weighted(memory: Any, weightings: Any, wname: str) -> Any:
    def go() -> tuple[Dataset, np.ndarray] | None:
        ws = weightings()
        if wname not in ws:
            return None
        return memory(), ws[wname]

    return go


def _groups_part(data: UserData) -> Part:
    """Group masses and the closed-form gains of curation on them."""
    assert data.groups is not None

    def compute(plot_path: Path) -> dict[str, Any]:
        from specurate.bench.groups import analyse_groups
        from specurate.report.groups import plot_groups

        assert data.groups is not None
        res = analyse_groups(data.groups, data.group_names)
        plot_groups(res, plot_path)
        return {"kind": "groups", "data": data.name, **res}

    return Part("groups", f"{data.name}: groups as modes", compute)
