"""Benchmarks of vpsorg-async: per-call cost, fleet cost, waiters at scale, import time.

Run with ``python -m benchmarks`` (``make bench``); see ``benchmarks/README.md``.
"""
