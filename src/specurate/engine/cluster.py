"""Where partition work runs: in this process (``local``) or on a Dask cluster (``dask``).

The engine is a thin layer over Dask's own scheduler (no scheduling of our own): a task per
shard submitted with ``client.map`` — a task whose worker dies is re-run elsewhere by the
scheduler (up to ``distributed.scheduler.allowed-failures`` = 3 deaths), while a task that
*raises* (bad input) fails the job at once, not after retries — and reductions submitted as a
balanced tree of ``client.submit`` calls so only the result of each reduction reaches this
process. ``engine="local"`` runs the same functions in a
loop here, in the same order, so both engines return the same numbers (to rounding: a merge
tree of the same shape).

``open_engine("dask")`` without an address starts a :class:`distributed.LocalCluster` of
worker *processes* (one thread each, so BLAS in one worker does not fight another) on the
loopback interface only, with no dashboard; with ``scheduler="tcp://host:8786"`` it connects to
a running cluster instead (``dask scheduler`` / ``dask worker`` on the nodes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from specurate._progress import progress_iter
from specurate.errors import SpecurateInputError

__all__ = ["ENGINES", "Engine", "open_engine"]

EngineName = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")

#: Times Dask re-runs a task that raised: none — an error is bad input, reported at once (a
#: worker's death is not a task error: the scheduler re-runs its tasks elsewhere).
RETRIES = 0

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Engine:
    """Runs per-shard tasks and tree reductions, here or on a Dask cluster.

    Attributes:
        name: ``"local"`` or ``"dask"``.
        client: the ``distributed.Client`` (None for ``local``).
        progress: show progress on stderr (the active log file gets the lines either way).
    """

    name: str
    client: Any = None
    progress: bool = False

    @property
    def workers(self) -> int:
        """Worker processes (1 for the local engine)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info()["workers"])

    def map(
        self, fn: Callable[..., R], items: Sequence[T], *, label: str, **shared: Any
    ) -> list[Any]:
        """``[fn(x, **shared) for x in items]``: results (local) or futures (dask), in order.
        ``shared`` values may be futures of :meth:`share`."""
        if self.client is None:
            return [fn(x, **shared) for x in progress_iter(items, label, enabled=self.progress)]
        futures = self.client.map(fn, list(items), retries=RETRIES, pure=False, **shared)
        self._track(futures, label)
        return list(futures)

    def _track(self, futures: list[Any], label: str) -> None:
        from distributed import as_completed

        done = as_completed(futures)
        for _ in progress_iter(done, label, enabled=self.progress, total=len(futures)):
            pass

    def share(self, value: Any) -> Any:
        """``value`` sent once to every worker (a future to pass to :meth:`map`); itself
        locally."""
        if self.client is None:
            return value
        return self.client.scatter(value, broadcast=True)

    def pick(self, value: Any, index: int) -> Any:
        """``value[index]`` of a result, or a task computing it from a future."""
        if self.client is None:
            return value[index]
        import operator

        return self.client.submit(operator.getitem, value, index, pure=False)

    def reduce(self, fn: Callable[[Any, Any], Any], values: Sequence[Any]) -> Any:
        """Fold ``values`` (results or futures, in order) pairwise along a balanced tree with the
        associative ``fn``; on a cluster every merge is a task, so only the root comes back."""
        level = list(values)
        if not level:
            raise SpecurateInputError("nothing to reduce.")
        while len(level) > 1:
            if self.client is None:
                nxt = [fn(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            else:
                nxt = [
                    self.client.submit(fn, level[i], level[i + 1], retries=RETRIES, pure=False)
                    for i in range(0, len(level) - 1, 2)
                ]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0]

    def gather(self, values: Any) -> Any:
        """Results of futures (no-op locally)."""
        return values if self.client is None else self.client.gather(values)


def _check_engine(name: str, scheduler: str | None, workers: int | None) -> None:
    if name not in ENGINES:
        raise SpecurateInputError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}.")
    if name == "local" and scheduler is not None:
        raise SpecurateInputError("--scheduler needs --engine dask.")
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise SpecurateInputError(f"--workers must be a positive integer, got {workers!r}.")
    if scheduler is not None and workers is not None:
        raise SpecurateInputError(
            "--workers sizes a cluster started here; a cluster at --scheduler has its own."
        )


@contextmanager
def open_engine(
    name: str = "local",
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    timeout: float = 30.0,
) -> Iterator[Engine]:
    """An :class:`Engine`; for ``"dask"`` a client of a new LocalCluster (closed on exit) or of
    the cluster at ``scheduler``.

    Args:
        name: ``"local"`` or ``"dask"``.
        scheduler: address of a running Dask scheduler (``tcp://host:port``); None starts a
            LocalCluster on 127.0.0.1.
        workers: worker processes of the LocalCluster (default: the CPU cores, at most 8).
        progress: progress lines on stderr.
        timeout: seconds to wait for the scheduler / the cluster to start.

    Raises:
        SpecurateInputError: an unknown engine, ``--scheduler`` with the local engine, no
            ``distributed`` installed, or a scheduler that cannot be reached.
    """
    _check_engine(name, scheduler, workers)
    if name == "local":
        yield Engine("local", None, progress)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - optional dependency
        raise SpecurateInputError(
            "--engine dask needs Dask's distributed scheduler: pip install 'specurate[dask]'."
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except OSError as exc:
            raise SpecurateInputError(
                f"--scheduler {scheduler}: cannot reach a Dask scheduler ({exc})."
            ) from None
        try:
            yield Engine("dask", client, progress)
        finally:
            client.close()
        return
    n = workers or max(1, min(8, os.cpu_count() or 1))
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster, timeout=timeout)
    try:
        yield Engine("dask", client, progress)
    finally:
        client.close()
        cluster.close()
