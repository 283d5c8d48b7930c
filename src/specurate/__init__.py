"""specurate: spectral data curation.

Estimate the spectrum a data set induces (eigenvalue decay b, target energy decay a, the
learning-curve exponent (a−1)/b), analyse what curation weights do to it (T_w = M√w T M√w),
and simulate learning under static and dynamic curation exactly (``specurate.dynamics``).
The core needs numpy/scipy only; ``specurate.torch`` holds the optional torch adapters.
"""

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

__version__ = "0.1.0"

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
