"""`python -m callforge` runs the command line, same as the `callforge` script."""

from callforge.cli import main

main()
