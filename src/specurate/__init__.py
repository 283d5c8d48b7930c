"""specurate: spectral data curation."""

__version__ = "0.1.0"
