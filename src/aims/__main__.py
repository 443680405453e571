"""``python -m aims`` runs the command line."""

from aims.cli.main import main

main()
