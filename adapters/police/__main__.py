"""Runs the police adapter service: `python -m adapters.police`."""

from hub.cli import main

main(["serve", "adapter", "police"])
