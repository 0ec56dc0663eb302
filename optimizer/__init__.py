"""xstorage-optimizer: tariff-aware scheduling for the Eaton xStorage Home battery."""

from pathlib import Path

__version__ = "0.1.0"

#: Data the installed package carries: the demo's slice of the shipped datasets and the
#: example settings file (``optimizer/data/README.md``).
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
