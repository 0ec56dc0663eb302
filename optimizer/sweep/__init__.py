"""Sweeps: many backtests — homes × tariffs × a grid of settings — on Dask distributed.

Modules: ``spec`` (the SPEC file), ``plan`` (the runs and their data, read and checked once by
the driver), ``work`` (one run, as a worker does it), ``engine`` (in-process, a local cluster or
a remote one), ``results`` (``runs.csv``, resume), ``summary``/``plots`` (the figures).
The service never imports this package (nor Dask): an import-linter contract keeps it so.
"""
