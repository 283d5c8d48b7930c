"""Generated calls of the Python API with bad (and good) arguments, for the fuzz tests and
``benchmarks/fuzz_long.py``.

:func:`draw_call` draws one call of a public function — ``estimate_spectrum``,
``analyze_reweighting``, ``streaming_covariance``, ``estimate_spectrum_streaming``,
``io.load_array``, ``io.encode_categories``, ``FrontierSampler.init``/``update`` — with arrays
from :mod:`cases` (every dtype, shape and magnitude) and random options; :func:`run_call`
runs it and says what happened: ``"ok"``, ``"SpecurateInputError"``, or a signature of anything
else (another exception, or a result with NaN/inf presented as valid).
"""

from __future__ import annotations

import math
import tempfile
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:
    from . import cases
except ImportError:  # loaded by file path (benchmarks/fuzz_long.py)
    import cases  # type: ignore[no-redef]


@dataclass
class Call:
    """A function to call and a description of its arguments."""

    name: str
    fn: Callable[[], Any]
    about: str
    check: Callable[[Any], str] | None = None

    def describe(self) -> str:
        return f"{self.name}({self.about})"


def _opt(rng: np.random.Generator, good: Any, *bad: Any) -> Any:
    return good if rng.random() < 0.8 or not bad else bad[int(rng.integers(len(bad)))]


def _labels(rng: np.random.Generator, n: int) -> tuple[Any, str]:
    kind = str(
        rng.choice(["none", "int", "float", "strings", "complex", "huge", "short", "nan", "2d"])
    )
    m = max(n, 1)
    v: Any = {
        "none": None,
        "int": rng.integers(0, 3, m),
        "float": rng.standard_normal(m),
        "strings": np.array(["a", "b", "c"] * m)[:m],
        "complex": rng.standard_normal(m) + 1j,
        "huge": np.where(rng.random(m) < 0.5, 1e300, -1e300),
        "short": np.ones(max(m - 2, 0)),
        "nan": np.full(m, np.nan),
        "2d": rng.standard_normal((m, 2)),
    }[kind]
    return v, kind


def _spectrum_ok(report: Any) -> str:
    """A result presented as valid has finite b; α finite or explained."""
    if not math.isfinite(report.b):
        return "b not finite"
    if not np.all(np.isfinite(report.eigenvalues)):
        return "eigenvalues not finite"
    if not math.isfinite(report.alpha) and not report.extras.get("alpha_note"):
        return "alpha not finite and not explained"
    lo, hi = report.alpha_ci
    if math.isfinite(lo) and math.isfinite(hi) and math.isfinite(report.alpha):
        if not lo <= report.alpha <= hi:
            return "alpha_ci excludes alpha"
    return ""


def _reweight_ok(report: Any) -> str:
    for k in ("b", "b_w", "C"):
        if not math.isfinite(getattr(report, k)):
            return f"{k} not finite"
    return ""


def draw_call(rng: np.random.Generator) -> Call:
    """One random call of the public API."""
    from specurate import io
    from specurate.curation import FrontierSampler
    from specurate.spectrum.estimate import estimate_spectrum
    from specurate.spectrum.large import estimate_spectrum_streaming
    from specurate.spectrum.reweight import analyze_reweighting
    from specurate.spectrum.streaming import streaming_covariance

    x, xd = cases.draw_array(rng, good=0.4)
    n = int(x.shape[0]) if x.ndim else 1
    which = int(rng.integers(8))
    seed = _opt(rng, 0, -1, -(2**40), 2**70, 1.5, "0")
    kernel = str(rng.choice(["linear", "linear", "rbf", "poly"]))
    if which == 0:
        y, yd = _labels(rng, n)
        kw = {
            "kernel": kernel,
            "seed": seed,
            "ci_method": _opt(rng, "none", "jackknife", "bootstrap", "x"),
            "groups": _opt(rng, 5, 1, 0, -3, 10**6),
            "bootstrap": _opt(rng, 5, 0, 1, -1),
            "bandwidth": _opt(rng, None, 0.0, -1.0, math.nan, math.inf, 1e-300),
            "top": _opt(rng, None, 0, -1, 5, 10**6),
            "ci": _opt(rng, 0.9, 0.0, 1.0, math.nan),
        }
        return Call(
            "estimate_spectrum",
            lambda: estimate_spectrum(x, y, **kw),
            f"{xd}, y={yd}, {kw}",
            _spectrum_ok,
        )
    if which == 1:
        wkind = str(rng.choice(["good", "zeros", "neg", "nan", "short", "sparse", "complex"]))
        m = max(n, 1)
        w: Any = {
            "good": rng.random(m) + 0.1,
            "zeros": np.zeros(m),
            "neg": -np.ones(m),
            "nan": np.full(m, np.nan),
            "short": np.ones(m + 3),
            "sparse": (rng.random(m) < 0.05).astype(float),
            "complex": np.ones(m) + 1j,
        }[wkind]
        kw = {
            "kernel": kernel,
            "seed": seed,
            "ci_method": _opt(rng, "none", "jackknife", "bootstrap"),
            "groups": _opt(rng, 5, 1, -2),
            "bootstrap": _opt(rng, 5, 0, 1),
            "tolerance": _opt(rng, 0.1, 0.0, -1.0, math.nan),
        }
        return Call(
            "analyze_reweighting",
            lambda: analyze_reweighting(x, w, **kw),
            f"{xd}, w={wkind}, {kw}",
            _reweight_ok,
        )
    if which == 2:
        kw = {
            "center": bool(rng.random() < 0.8),
            "groups": _opt(rng, 0, 1, 3, -1, 10**6),
            "chunk_rows": _opt(rng, None, 0, -5, 7),
            "precision": _opt(rng, "double", "mixed", "quad"),
        }

        def check_cov(mom: Any) -> str:
            return "" if np.all(np.isfinite(mom.covariance)) else "covariance not finite"

        return Call(
            "streaming_covariance",
            lambda: streaming_covariance(x, **kw),
            f"{xd}, {kw}",
            check_cov,
        )
    if which == 3:
        y, yd = _labels(rng, n)
        groups = _opt(rng, 5, 0, 1, -1)
        return Call(
            "estimate_spectrum_streaming",
            lambda: estimate_spectrum_streaming(x, y, groups=groups),
            f"{xd}, y={yd}, groups={groups}",
            _spectrum_ok,
        )
    if which == 4:
        fname, write, _ = cases.draw_data_file(rng)
        role = str(rng.choice(["data", "labels", "weights"]))

        def load() -> Any:
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / fname
                write(p)
                return io.load_array(p, role=role)  # type: ignore[arg-type]

        def check_loaded(a: Any) -> str:
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                return "loaded NaN/inf"
            return "" if a.dtype.kind in "fiu" else f"loaded dtype {a.dtype}"

        return Call("io.load_array", load, f"{fname}, role={role}", check_loaded)
    if which == 5:
        y, yd = _labels(rng, n)
        if y is None:
            y = x.reshape(-1) if x.ndim else x
            yd = xd
        return Call("io.encode_categories", lambda: io.encode_categories(y, "labels"), yd)
    if which == 6:
        n0 = _opt(rng, 20, 0, -1, 1.5)
        groups = _opt(rng, np.arange(20) % 3, np.arange(19), np.full(20, 1e300), x)
        kw = {"rank": _opt(rng, 4, 0, -1), "kappa": _opt(rng, 1.0, 0.0, math.nan)}

        def init() -> Any:
            return FrontierSampler(**kw).init(n0, seed=seed, groups=groups)

        return Call("FrontierSampler.init", init, f"n={n0}, seed={seed}, {kw}")
    bsize = int(rng.integers(0, 6))
    idx = _opt(rng, rng.integers(0, 20, bsize), np.array([], dtype=float), np.array([25]), x)
    loss = _opt(rng, rng.random(bsize), rng.random(bsize + 1), -np.ones(bsize), x)

    def update() -> Any:
        s = FrontierSampler(rank=2)
        st = s.init(20, seed=0, groups=np.arange(20) % 3)
        return s.update(st, idx, {"loss": loss})

    return Call("FrontierSampler.update", update, f"batch={bsize}")


def run_call(call: Call) -> str:
    """``"ok"``, ``"SpecurateInputError"`` or the signature of anything else."""
    from specurate.errors import SpecurateInputError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            out = call.fn()
    except SpecurateInputError:
        return "SpecurateInputError"
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].name}" if tb else "?"
        return f"{type(exc).__name__} in {call.name} at {where}: {str(exc)[:50]}"
    problem = call.check(out) if call.check is not None else ""
    return f"{call.name} result: {problem}" if problem else "ok"
