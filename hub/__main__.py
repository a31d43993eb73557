"""`python -m hub` runs the `mash` command line."""

from hub.cli import main

main()
