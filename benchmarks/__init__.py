"""Benchmarks; results are committed under benchmarks/results/."""
