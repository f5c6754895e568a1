"""`python -m tutor_cli` runs the `tutor` command."""

from tutor_cli.cli import main

main()
