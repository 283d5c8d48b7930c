"""The record of one training run (pure Python; no torch needed to read or analyse it)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """One run of :func:`specurate.bench.train.train`.

    Compute is in PASSES (examples / n_train). ``forward_passes`` = trained + extra forward
    (scoring) examples; ``backward_passes`` = trained examples; ``scoring_passes`` = extra
    forward + extra compute the strategy declared; the budget is charged on
    ``backward_passes + scoring_passes``. ``wall_s`` is training time (evaluations excluded).
    ``curve``: dicts {passes, test_loss, test_acc, wall_s} at log-spaced compute points, where
    ``passes`` is the charged compute at the evaluation. ``diverged``: the training loss became
    NaN/inf (learning rate too large); the run stopped and its final test loss is inf. ``lr``:
    the SGD learning rate of the run. ``first_seed``: the first seed of the comparison the run
    belongs to (:func:`specurate.bench.compare.compare_strategies`; None outside one). It
    names the run with ``seed``: the learning rate is tuned on a draw of the task set by the
    first seed (and ``specurate bench`` draws the task itself from it), so run ``seed = 1`` of
    ``--seed 0`` and of ``--seed 1`` are different runs, told apart by ``first_seed``.
    """

    strategy: str
    seed: int
    forward_passes: float
    backward_passes: float
    scoring_passes: float
    wall_s: float
    test_loss: float
    test_acc: float
    curve: tuple[dict[str, float], ...]
    task: str = ""
    budget_passes: float = 0.0
    n_train: int = 0
    diverged: bool = False
    lr: float = math.nan
    first_seed: int | None = None

    @property
    def label(self) -> str:
        """``"seed S"``, or ``"seed S of first seed F"`` inside a comparison (see
        ``first_seed``)."""
        return f"seed {self.seed}" + (
            "" if self.first_seed is None else f" of first seed {self.first_seed}"
        )

    @property
    def charged_passes(self) -> float:
        return self.backward_passes + self.scoring_passes

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["curve"] = [dict(c) for c in self.curve]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict` (e.g. a run cached as JSON); JSON's null for a float is NaN
        (accuracy of regression tasks, written by :func:`specurate.report.json.jsonable`)."""

        def nan(v: Any) -> Any:
            return math.nan if v is None else v

        curve = tuple({k: nan(v) for k, v in c.items()} for c in d["curve"])
        if d.get("diverged") and curve:  # JSON has no inf: the last point's loss was inf
            curve = (*curve[:-1], {**curve[-1], "test_loss": math.inf})
            d = {**d, "test_loss": math.inf}
        fields = {k: v if k == "first_seed" else nan(v) for k, v in d.items()}
        return cls(**{**fields, "curve": curve})
