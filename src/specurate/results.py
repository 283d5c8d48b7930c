"""Moved to :mod:`specurate.report.json` (this alias is removed in the next release)."""

import warnings

from specurate.report.json import *  # noqa: F403
from specurate.report.json import jsonable  # noqa: F401

warnings.warn("specurate.results moved to specurate.report.json", DeprecationWarning, stacklevel=2)
