"""Runs the housing adapter service: `python -m adapters.housing`."""

from hub.cli import main

main(["serve", "adapter", "housing"])
