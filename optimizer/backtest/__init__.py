"""Replay history with a strategy: the engine, its inputs, reports and plots, and the strategy
interface and registry every planning policy is found through.

Modules: ``engine`` (the replay), ``data`` (inputs and publication rules), ``suite`` (composition
from settings and files), ``report``/``plots`` (figures), ``strategy`` (the interface and what a
strategy may know), ``registry`` (strategies by name). Nothing here imports ``strategies``.
"""
