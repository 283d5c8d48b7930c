"""``python -m specurate``: the ``specurate`` command."""

from specurate.cli import main

main()
