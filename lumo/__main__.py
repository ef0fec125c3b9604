"""`python -m lumo …` is the `lumo` console script (the demo starts its worker this way)."""

from lumo.cli import main

main()
