"""`python -m ecslab` runs the CLI."""

from ecslab.cli import main

main()
