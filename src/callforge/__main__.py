"""`python -m callforge` runs the CLI, for environments where the script is not on PATH."""

from callforge.cli import main

main()
