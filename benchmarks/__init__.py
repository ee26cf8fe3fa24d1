"""Benchmark programs (not timed tests). Run them all with ``make bench``."""
