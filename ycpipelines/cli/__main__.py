"""`python -m ycpipelines.cli …` runs `ycp …`."""

from ycpipelines.cli import main

main()
