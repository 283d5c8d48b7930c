"""specurate: spectral data curation.

Estimate the spectrum a data set induces (eigenvalue decay b, target energy decay a, the
learning-curve exponent (a−1)/b), analyse what curation weights do to it (T_w = M√w T M√w),
and simulate learning under static and dynamic curation exactly (``specurate.dynamics``).
The core needs numpy/scipy only; ``specurate.torch`` holds the optional torch adapters.

The names below are re-exported lazily (PEP 562): ``import specurate`` imports no submodule
(nor numpy, scipy, matplotlib or torch); the first use of a name, such as
``specurate.estimate_spectrum`` or ``from specurate import estimate_spectrum``, imports the
module that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# A literal: setuptools reads it statically (pyproject.toml, [tool.setuptools.dynamic]).
__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "Dataset": "specurate.datasets",
    "load_builtin": "specurate.datasets",
    "planted_powerlaw": "specurate.datasets",
    "Analysis": "specurate.dynamics.compare",
    "Comparison": "specurate.dynamics.compare",
    "analyze": "specurate.dynamics.compare",
    "compare": "specurate.dynamics.compare",
    "LearningLaw": "specurate.dynamics.modes",
    "Modes": "specurate.dynamics.modes",
    "modes_from_arrays": "specurate.dynamics.modes",
    "modes_from_spectrum": "specurate.dynamics.modes",
    "power_law_modes": "specurate.dynamics.modes",
    "POLICIES": "specurate.dynamics.policies",
    "Policy": "specurate.dynamics.policies",
    "make_policy": "specurate.dynamics.policies",
    "Trajectory": "specurate.dynamics.simulate",
    "simulate": "specurate.dynamics.simulate",
    "SpecurateInputError": "specurate.errors",
    "FeatureOperator": "specurate.spectrum.estimate",
    "SpectrumReport": "specurate.spectrum.estimate",
    "TargetReport": "specurate.spectrum.estimate",
    "estimate_spectrum": "specurate.spectrum.estimate",
    "operator_features": "specurate.spectrum.estimate",
    "estimate_spectrum_streaming": "specurate.spectrum.large",
    "PowerLawFit": "specurate.spectrum.powerlaw",
    "fit_power_law": "specurate.spectrum.powerlaw",
    "select_fit_range": "specurate.spectrum.powerlaw",
    "ReweightReport": "specurate.spectrum.reweight",
    "analyze_reweighting": "specurate.spectrum.reweight",
    "streaming_covariance": "specurate.spectrum.streaming",
}

# subpackages reachable as attributes (``specurate.spectrum``) without an explicit import
_SUBMODULES = frozenset(
    {"bench", "curation", "datasets", "dynamics", "errors", "spectrum", "torch"}
)

__all__ = [
    "POLICIES",
    "Analysis",
    "Comparison",
    "Dataset",
    "FeatureOperator",
    "LearningLaw",
    "Modes",
    "Policy",
    "PowerLawFit",
    "ReweightReport",
    "SpectrumReport",
    "SpecurateInputError",
    "TargetReport",
    "Trajectory",
    "__version__",
    "analyze",
    "analyze_reweighting",
    "compare",
    "estimate_spectrum",
    "estimate_spectrum_streaming",
    "fit_power_law",
    "load_builtin",
    "make_policy",
    "modes_from_arrays",
    "modes_from_spectrum",
    "operator_features",
    "planted_powerlaw",
    "power_law_modes",
    "select_fit_range",
    "simulate",
    "streaming_covariance",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name (or a subpackage) on first use and cache it here."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from specurate.datasets import Dataset, load_builtin, planted_powerlaw
    from specurate.dynamics.compare import Analysis, Comparison, analyze, compare
    from specurate.dynamics.modes import (
        LearningLaw,
        Modes,
        modes_from_arrays,
        modes_from_spectrum,
        power_law_modes,
    )
    from specurate.dynamics.policies import POLICIES, Policy, make_policy
    from specurate.dynamics.simulate import Trajectory, simulate
    from specurate.errors import SpecurateInputError
    from specurate.spectrum.estimate import (
        FeatureOperator,
        SpectrumReport,
        TargetReport,
        estimate_spectrum,
        operator_features,
    )
    from specurate.spectrum.large import estimate_spectrum_streaming
    from specurate.spectrum.powerlaw import PowerLawFit, fit_power_law, select_fit_range
    from specurate.spectrum.reweight import ReweightReport, analyze_reweighting
    from specurate.spectrum.streaming import streaming_covariance
