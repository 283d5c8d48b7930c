"""Run (or resume) a study into a folder: ``results.json``, ``report.html``, ``runs.parquet``,
``run.log`` and the finished parts in ``parts/``.

The folder is locked for the run (:func:`specurate._files.lock_folder`: a second run on it is
refused at once, naming the holder's pid), every file is written atomically, and a symlink
planted at any output path is refused before any work (:func:`check_run_folder`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specurate import __version__
from specurate._files import atomic_write_text, lock_folder, remove_stale_temps
from specurate.datasets import has_mnist5k
from specurate.errors import SpecurateInputError
from specurate.study.builtin import has_torch, study_parts
from specurate.study.parts import Part, compute_parts, part_files, results_in_order, tag

if TYPE_CHECKING:
    from specurate.io import UserData

__all__ = ["OUTPUTS", "check_run_folder", "run_study"]

#: what a study writes at the top of its folder
OUTPUTS = ("results.json", "report.html", "runs.parquet", "run.log", "parts")


def check_run_folder(out: Path) -> None:
    """Refuse (:class:`~specurate.errors.SpecurateInputError`) a study folder that is a symlink or
    not a folder, or that holds a symlink where the study writes (its top-level outputs and
    anything under ``parts/``), or a folder where it writes a file. Checked before any work."""
    out = Path(out)
    if out.is_symlink():
        raise SpecurateInputError(
            f"--out {out} is a symbolic link; specurate does not write through links "
            "(give the real folder)."
        )
    if out.exists() and not out.is_dir():
        raise SpecurateInputError(f"--out {out} exists and is not a folder")
    for name in OUTPUTS:
        p = out / name
        if p.is_symlink():
            raise SpecurateInputError(
                f"{p} is a symbolic link; specurate does not write through or over links "
                "(remove it or choose another --out)."
            )
        if name != "parts" and p.is_dir():
            raise SpecurateInputError(f"{p} is a folder where the study writes a file")
    if (out / "parts").exists() and not (out / "parts").is_dir():
        raise SpecurateInputError(f"{out / 'parts'} is a file where the study keeps its parts")
    if (out / "parts").is_dir():
        for dirpath, dirnames, filenames in os.walk(out / "parts"):
            for name in (*dirnames, *filenames):
                if (Path(dirpath) / name).is_symlink():
                    raise SpecurateInputError(
                        f"{Path(dirpath) / name} is a symbolic link; specurate does not write "
                        "through or over links (remove it or choose another --out)."
                    )


def fingerprint(data: UserData) -> str:
    """8 hex digits that change with the data set or the options a study of it was run with:
    its name and shape, the first rows, labels, groups and weights (a folder reused for another
    data set recomputes every part instead of mixing results)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256(f"{data.name}|{data.rows.n}|{data.rows.d}".encode())
    first = next(iter(data.rows.chunks(64)), None)
    if first is not None:
        h.update(np.ascontiguousarray(first[1], dtype=np.float64).tobytes())
    for arr in (data.labels, data.groups, *data.weights.values()):
        h.update(b"|" if arr is None else np.ascontiguousarray(arr).tobytes())
    h.update("|".join(data.weights).encode())
    return h.hexdigest()[:8]


def _summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per spectrum part: b, a and the predicted loss exponent with their CIs."""
    return [
        {
            "data": key,
            "kernel": r["kernel"],
            "b": r["b"],
            "b_ci": r["b_ci"],
            "a": r["a"],
            "a_ci": r["a_ci"],
            "learning_exponent": r.get("learning_exponent"),
            "truth": r.get("truth", {}),
        }
        for key, r in results.items()
        if r.get("kind", "spectrum") == "spectrum" and "kernel" in r
    ]


def _notes(data: UserData | None, results: dict[str, Any]) -> list[str]:
    notes = []
    if data is None and not has_torch():
        notes.append(
            "real-training parts skipped: torch is not installed "
            "(pip install torch==2.13.0 'specurate[torch]')"
        )
    if data is None and not has_mnist5k():
        notes.append(
            "MNIST-5k parts skipped (the full study analyses digits instead): "
            "pip install 'specurate[mnist5k]'"
        )
    if data is not None and data.labels is None:
        notes.append(
            "no labels given (--labels): the target alignment a, the predicted loss exponent and "
            "the simulator need them"
        )
    notes += [r["reason"] for r in results.values() if r.get("kind") == "skipped"]
    return notes


def _check_shardable(data: UserData | None) -> None:
    """A Dask run needs data on disk that workers can read: Parquet or ``.npy``."""
    if data is None:
        raise SpecurateInputError(
            "--engine dask studies your DATA (a Parquet folder or file, or a .npy file); the "
            "built-in study runs in this process."
        )
    p = data.path
    if p is None or not (p.is_dir() or p.suffix in (".parquet", ".npy")):
        raise SpecurateInputError(
            f"{data.name}: --engine dask reads Parquet (a file or a folder) or .npy data; "
            "convert it first, or use the local engine."
        )


def run_study(
    out: Path,
    *,
    data: UserData | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    jobs: int = 1,
    parts: list[Part] | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) the study of ``data`` (default: the built-in data) into ``out``.

    Args:
        out: the output folder (created; finished parts in ``out/parts`` are reused after
            validation). It is locked while the study runs: a folder another process is
            running a study in raises :class:`~specurate.errors.SpecurateInputError` at once,
            as does a symlink at any output path (:func:`check_run_folder`).
        data: a user's data set (:func:`specurate.io.load_user_data`), or None for the built-in
            study.
        quick: the smaller study.
        seed: seed of every random choice.
        progress: progress on stderr (``out/run.log`` gets every finished step either way).
        jobs: worker processes for independent parts (1 or 2).
        parts: the parts to run instead of the default ones (for tests and custom studies).
        scheduler: address of a Dask scheduler: the covariance spectrum of every row of
            ``data`` is then computed shard by shard on that cluster
            (:func:`specurate.engine.spectrum.sharded_spectrum`; ``data`` must be Parquet or
            ``.npy``). Its results are kept apart from a local run's (their jackknife groups
            differ).

    Returns:
        The contents of ``results.json``: ``findings`` (plain sentences), ``headline``,
        ``notes``, ``summary`` (one row per spectrum) and ``parts`` (every part's result).
    """
    if scheduler is not None:
        _check_shardable(data)
    out = Path(out)
    check_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_folder(out):
        return _run_locked(out, data, quick, seed, progress, jobs, parts, scheduler)


def _run_locked(
    out: Path,
    data: UserData | None,
    quick: bool,
    seed: int,
    progress: bool,
    jobs: int,
    parts: list[Part] | None,
    scheduler: str | None,
) -> dict[str, Any]:
    """:func:`run_study` once ``out`` is checked and locked."""
    from specurate._progress import log_progress
    from specurate.report.findings import findings, plain

    check_run_folder(out)  # again under the lock: a link planted while waiting is refused too
    remove_stale_temps(out)  # left by a killed run (the lock says none is running)
    parts_dir = out / "parts"
    parts_dir.mkdir(exist_ok=True)
    if parts is None:
        if data is None:
            parts = study_parts(quick=quick, seed=seed, progress=progress and jobs <= 1)
        else:
            from specurate.study.user import user_parts

            parts = user_parts(data, quick=quick, seed=seed, scheduler=scheduler)
    run_tag = tag(quick, seed) if data is None else f"{tag(quick, seed)}-{fingerprint(data)}"
    if scheduler is not None:
        run_tag += "-dask"
    from specurate.bench.tasks import data_cache

    # every finished step in the log, also when nobody watches; generated data made once
    with log_progress(out / "run.log"), data_cache(parts_dir / "data"):
        results = compute_parts(parts, parts_dir, run_tag, progress=progress, jobs=jobs)
    results = results_in_order(parts, results)
    sep = results.get("separation")
    doc: dict[str, Any] = {
        "specurate_version": __version__,
        "data_name": "the built-in data" if data is None else data.name,
        "findings": [],
        "headline": [] if sep is None else sep["verdict"],
        "notes": _notes(data, results),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "quick": quick,
        "seed": seed,
        "summary": _summary(results),
        "parts": results,
    }
    doc["findings"] = [plain(t) for t in findings(doc)]
    atomic_write_text(out / "results.json", json.dumps(doc, allow_nan=False, indent=1))
    runs = [r for p in results.values() if p.get("kind") == "training" for r in p["runs"]]
    if runs:  # one row per run and evaluation point (pyarrow)
        from specurate.bench.metrics import runs_to_parquet
        from specurate.bench.result import RunResult

        runs_to_parquet([RunResult.from_dict(r) for r in runs], out / "runs.parquet")
    from specurate.report.html import render_html

    plots = {p.key: part_files(parts_dir, p.key, run_tag)[1] for p in parts}
    atomic_write_text(out / "report.html", render_html(doc, plots))
    return doc
