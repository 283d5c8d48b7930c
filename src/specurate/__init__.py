"""specurate: spectral data curation.

Estimate the spectrum a data set induces (eigenvalue decay b, target energy decay a, the
learning-curve exponent (a−1)/b) and analyse what curation weights do to it (T_w = M√w T M√w).
The core needs numpy/scipy only; ``specurate.torch`` holds the optional torch adapters.
"""

from specurate.datasets import Dataset, load_builtin, planted_powerlaw
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
    "Dataset",
    "FeatureOperator",
    "PowerLawFit",
    "ReweightReport",
    "SpectrumReport",
    "SpecurateInputError",
    "TargetReport",
    "__version__",
    "analyze_reweighting",
    "estimate_spectrum",
    "estimate_spectrum_streaming",
    "fit_power_law",
    "load_builtin",
    "operator_features",
    "planted_powerlaw",
    "select_fit_range",
    "streaming_covariance",
]
