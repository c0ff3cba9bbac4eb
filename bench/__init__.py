"""Benchmarks: `make bench`. Numbers and ratios, printed; never asserted."""
