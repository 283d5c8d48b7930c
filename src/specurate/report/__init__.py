"""Presentation of results: figures, terminal tables, the HTML report and JSON views.

Layer: imports the library (spectrum, dynamics, curation) and :mod:`specurate.bench`, never
:mod:`specurate.study` or :mod:`specurate.cli`.

* :mod:`~specurate.report.style` — one colour per name, one number formatter, figures without
  pyplot;
* :mod:`~specurate.report.plots` — spectra, fits, reweighting, simulated dynamics, training runs;
* :mod:`~specurate.report.tables` — rich tables of every command;
* :mod:`~specurate.report.experiments` — tables and figures of the paper's experiments;
* :mod:`~specurate.report.html` — the self-contained HTML report of ``specurate run``;
* :mod:`~specurate.report.json` — JSON views of the library's results.
"""
