"""xstorage-optimizer: tariff-aware scheduling for the Eaton xStorage Home battery."""

__version__ = "0.1.0"
