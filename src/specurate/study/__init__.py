"""``specurate run``: a study of the built-in data or of a user's own data set, as a report.

A study is a list of :class:`~specurate.study.parts.Part` (spectra, weightings analysed as
operators, the simulator on the measured exponents, the static-vs-dynamic separation, real
training, groups as modes), computed one by one or on two processes, each saved as it finishes
so an interrupted run resumes (:mod:`~specurate.study.parts`). :func:`run_study` writes
``results.json`` (findings first), ``report.html`` (self-contained), ``runs.parquet`` and
``run.log``.

* :mod:`~specurate.study.builtin` — the parts of the built-in study;
* :mod:`~specurate.study.user` — the parts of ``specurate run DATA``;
* :mod:`~specurate.study.analyses` — part factories shared by both;
* :mod:`~specurate.study.weightings` — the model-free weightings every study analyses;
* :mod:`~specurate.study.run` — :func:`run_study`.
"""

from specurate.study.analyses import reweight_part, simulate_part, spectrum_part
from specurate.study.builtin import has_torch, study_parts
from specurate.study.parts import Part, compute_parts, tag
from specurate.study.run import run_study
from specurate.study.user import user_parts
from specurate.study.weightings import curation_weights, prototype_distance, static_weightings

__all__ = [
    "Part",
    "compute_parts",
    "curation_weights",
    "has_torch",
    "prototype_distance",
    "reweight_part",
    "run_study",
    "simulate_part",
    "spectrum_part",
    "static_weightings",
    "study_parts",
    "tag",
    "user_parts",
]
