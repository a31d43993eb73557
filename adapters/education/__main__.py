"""Runs the education adapter service: `python -m adapters.education`."""

from hub.cli import main

main(["serve", "adapter", "education"])
