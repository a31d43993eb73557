"""Runs the health adapter service: `python -m adapters.health`."""

from hub.cli import main

main(["serve", "adapter", "health"])
