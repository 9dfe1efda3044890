"""The command line, ``python -m pipeline SUBCOMMAND``: one module per subcommand."""

from pipeline.cli.main import main

__all__ = ["main"]
