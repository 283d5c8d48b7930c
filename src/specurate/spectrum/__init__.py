"""Spectra of data operators: estimation, power-law fits, target alignment, reweighting."""
