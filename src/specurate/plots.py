"""Moved to :mod:`specurate.report.plots` (this alias is removed in the next release)."""

import warnings

from specurate.report.plots import *  # noqa: F403
from specurate.report.plots import save  # noqa: F401

warnings.warn("specurate.plots moved to specurate.report.plots", DeprecationWarning, stacklevel=2)
