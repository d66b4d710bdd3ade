"""Benchmarks (`make bench`): speed targets, printed, never part of the test suite."""
