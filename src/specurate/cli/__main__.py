"""``python -m specurate.cli``: the ``specurate`` command."""

from specurate.cli import main

main()
