"""``python -m optimizer``: the same as the ``xstorage-optimizer`` command."""

from optimizer.cli import main

main()
