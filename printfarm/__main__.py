"""Allow `python -m printfarm`."""

from printfarm.cli import main

main()
