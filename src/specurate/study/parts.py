"""Parts of a study and the loop that computes them: resumable, logged, on one or two processes.

A :class:`Part` is one unit of a study (a spectrum, a reweighting analysis, a simulation, a
training comparison). Every finished part is saved as ``OUT/parts/<key>-<tag>.json`` plus its
figure ``<key>-<tag>.png``, so an interrupted run resumes where it stopped; a part that needs
another part's result (the simulator needs the measured exponents) names it in ``needs`` and
receives its JSON dict.

A part file is checked JSON (:func:`specurate._files.write_checked_json`) keyed by the package
version, the part's key, the study's tag (size, seed, data fingerprint) and the SHA-256 of its
figure: on resume a truncated, empty, edited or foreign part file, or a changed or missing
figure, is recomputed (with a line on stderr and in ``run.log`` saying why), never trusted.

With ``jobs = 2`` independent parts run in two worker processes (forked, one BLAS / torch
thread each), dependent parts after their inputs; on small models two single-threaded processes
use two cores better than one process with two threads. Workers report each finished part, so
the progress line and ``OUT/run.log`` are the same as with one process.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specurate._files import file_sha256, read_checked_json, write_checked_json

if TYPE_CHECKING:
    from specurate._progress import PartProgress

__all__ = ["NO_FIGURE", "Part", "compute_parts", "load_part", "part_files", "tag"]

#: kinds of part results that come without a figure: a part that found nothing to analyse, and
#: one that only fills a cache for a later part (its result is left out of results.json)
NO_FIGURE = ("skipped", "prefetch")


@dataclass(frozen=True)
class Part:
    """One unit of a study.

    Attributes:
        key: the part's name in ``results.json`` and in its file names.
        title: a one-line title for the report.
        compute: ``compute(plot_path, *inputs) -> dict``: writes the part's figure to
            ``plot_path`` and returns its JSON dict; ``inputs`` are the results of ``needs``.
        needs: keys of the parts whose results ``compute`` takes, in order.
        weight: a rough relative cost (for the order of work on two processes: heavy first).
    """

    key: str
    title: str
    compute: Callable[..., dict[str, Any]]
    needs: tuple[str, ...] = field(default=())
    weight: float = 1.0


def tag(quick: bool, seed: int) -> str:
    """The name of a study's size and seed in its part files (``quick-seed0``)."""
    return f"{'quick' if quick else 'full'}-seed{seed}"


def part_files(parts_dir: Path, key: str, run_tag: str) -> tuple[Path, Path]:
    """(JSON, PNG) paths of a part."""
    return parts_dir / f"{key}-{run_tag}.json", parts_dir / f"{key}-{run_tag}.png"


def _part_key(part: Part, run_tag: str, ppath: Path, kind: Any) -> dict[str, Any]:
    """What a saved part must match to be reused: its key, the study's tag, and its figure's
    SHA-256 (None for a part without a figure)."""
    figure = None if kind in NO_FIGURE else file_sha256(ppath)
    return {"part": part.key, "tag": run_tag, "figure_sha256": figure}


def _finish(part: Part, res: dict[str, Any], jpath: Path, run_tag: str) -> dict[str, Any]:
    res["title"] = part.title
    ppath = jpath.with_suffix(".png")
    key = _part_key(part, run_tag, ppath, res.get("kind"))
    write_checked_json(jpath, res, key=key, allow_nan=False)
    return res


def load_part(part: Part, parts_dir: Path, run_tag: str) -> tuple[dict[str, Any] | None, str]:
    """A saved part's result if its file is valid and its figure is the one saved with it;
    else ``(None, why)`` (``why`` is empty when there is no file yet)."""
    jpath, ppath = part_files(parts_dir, part.key, run_tag)
    if not jpath.exists() and not jpath.is_symlink():
        return None, ""
    try:  # which key to expect depends on the kind; the envelope is checked against it below
        kind = json.loads(jpath.read_text(encoding="utf-8"))["data"].get("kind")
    except Exception:
        kind = None
    found = read_checked_json(jpath, key=_part_key(part, run_tag, ppath, kind))
    if found.problem is None and found.data is not None:
        if isinstance(found.data, dict):
            return found.data, ""
        return None, "not a JSON object"
    problem = found.problem or "unreadable"
    if problem == "computed for other parameters" and kind not in NO_FIGURE:
        problem = "its figure is missing or was changed" if ppath.exists() else "no figure"
    return None, problem


# The parts of the current compute_parts call, inherited by forked workers (closures cannot be
# pickled; a forked child has them already).
_PARTS: list[Part] = []


def _worker_init() -> None:
    """One BLAS and torch thread per worker: two workers then use the two cores."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    torch = sys.modules.get("torch")  # imported after the fork, torch reads OMP_NUM_THREADS
    if torch is not None:
        torch.set_num_threads(1)


@contextlib.contextmanager
def _worker_threads(active: bool) -> Iterator[None]:
    """Inside (when ``active``), this process computes with one BLAS and one torch thread,
    as a worker does; the previous settings are restored on exit."""
    if not active:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(1):
            if torch is not None:
                torch.set_num_threads(1)
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)


def _worker_run(index: int, plot: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    from specurate._progress import quiet

    with quiet():  # the parent reports parts; a worker's inner bars would interleave
        return _PARTS[index].compute(Path(plot), *inputs)


def compute_parts(
    parts: list[Part],
    parts_dir: Path,
    run_tag: str,
    *,
    progress: bool,
    jobs: int = 1,
    label: str = "specurate run",
) -> dict[str, dict[str, Any]]:
    """Compute every part not saved yet into ``parts_dir`` and return all results by key.

    Args:
        parts: the study's parts; ``needs`` must name earlier parts.
        parts_dir: where part files live (created by the caller).
        run_tag: the study's :func:`tag`.
        progress: show progress on stderr (a bar on a terminal, one line per part otherwise);
            the active :func:`specurate._progress.log_progress` file gets the lines either way.
        jobs: 1 (in this process, in order) or 2 (two forked worker processes).
        label: the progress label.
    """
    from specurate._progress import PartProgress

    keys = [p.key for p in parts]
    for p in parts:
        missing = [k for k in p.needs if k not in keys[: keys.index(p.key)]]
        if missing:
            raise ValueError(f"part {p.key} needs {missing}, which do not come before it")
    from specurate._progress import note

    results: dict[str, dict[str, Any]] = {}
    todo: list[int] = []
    for i, part in enumerate(parts):
        saved, problem = load_part(part, parts_dir, run_tag)
        if saved is not None:
            results[part.key] = saved
            continue
        if problem:
            jpath, _ = part_files(parts_dir, part.key, run_tag)
            note(f"{label}: {jpath.name} cannot be trusted ({problem}); recomputing", echo=progress)
        todo.append(i)
    bar = PartProgress(label, total=len(parts), done=len(parts) - len(todo), enabled=progress)
    with bar:
        if jobs <= 1 or len(todo) <= 1 or multiprocessing.get_start_method() != "fork":
            # with jobs = 2, a part left to run here gets the workers' one BLAS / torch thread:
            # its numbers must not depend on where it ran (an RBF spectrum moves by ~1e-8
            # between 1 and 2 BLAS threads, a training run by more)
            with _worker_threads(jobs > 1):
                for i in todo:
                    part = parts[i]
                    jpath, ppath = part_files(parts_dir, part.key, run_tag)
                    bar.start(part.title)
                    res = part.compute(ppath, *[results[k] for k in part.needs])
                    results[part.key] = _finish(part, res, jpath, run_tag)
                    bar.advance(part.title)
            return results
        _run_parallel(parts, todo, parts_dir, run_tag, results, bar, jobs)
    return results


def _run_parallel(
    parts: list[Part],
    todo: list[int],
    parts_dir: Path,
    run_tag: str,
    results: dict[str, dict[str, Any]],
    bar: PartProgress,
    jobs: int,
) -> None:
    """Run ``todo`` on ``jobs`` forked workers: ready parts heaviest first."""
    global _PARTS
    _PARTS = parts
    waiting = sorted(todo, key=lambda i: -parts[i].weight)
    running: dict[Future[dict[str, Any]], int] = {}
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init) as pool:
            while waiting or running:
                for i in list(waiting):
                    if len(running) >= jobs:
                        break
                    if all(k in results for k in parts[i].needs):
                        waiting.remove(i)
                        _, ppath = part_files(parts_dir, parts[i].key, run_tag)
                        inputs = [results[k] for k in parts[i].needs]
                        running[pool.submit(_worker_run, i, str(ppath), inputs)] = i
                        bar.start(parts[i].title)
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = running.pop(fut)
                    jpath, _ = part_files(parts_dir, parts[i].key, run_tag)
                    results[parts[i].key] = _finish(parts[i], fut.result(), jpath, run_tag)
                    bar.advance(parts[i].title)
    finally:
        _PARTS = []


def results_in_order(parts: list[Part], results: Mapping[str, Any]) -> dict[str, Any]:
    """``results`` re-keyed in the parts' order (parallel runs finish out of order), without
    the parts that only fill a cache."""
    return {
        p.key: results[p.key]
        for p in parts
        if p.key in results and results[p.key].get("kind") != "prefetch"
    }
