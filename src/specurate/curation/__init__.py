"""Curation strategies (numpy only): the Strategy contract, static scores, dynamic samplers."""
