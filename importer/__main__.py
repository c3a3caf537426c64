"""`python -m importer`: the same command as the console script."""

from .cli import main

main()
