"""Errors raised for user mistakes (bad files, bad parameters).

The command line turns a :class:`SpecurateInputError` into one sentence on stderr and exit
code 2; library users catch it like any ``ValueError``. The checks that raise it live in
:mod:`specurate._validate`.
"""

from __future__ import annotations


class SpecurateInputError(ValueError):
    """Bad user input: a file, an array or a parameter that cannot be used as given.

    The message is one sentence that names the source (file or argument) and the problem.
    """
