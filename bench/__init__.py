"""Benchmarks against the running stack (`make run`); each prints its figures."""
