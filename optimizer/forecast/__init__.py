"""Load and PV forecasts built from the past only.

``grid``: history on a slot grid read only before a decision time; ``load``: the household load
methods (``[forecast] load_method``); ``lagged``: the lagged mean used for PV.
"""
