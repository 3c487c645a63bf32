"""The bottom layer: errors and exit codes, config, UI, clocks, names and shared facts.

Imports nothing else of ecslab, and at import time nothing beyond the standard library,
click and rich, so `ecslab --help` stays fast.
"""
