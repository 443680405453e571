"""The ``aims`` command line (Typer). Thin: parse, call a service, render."""
