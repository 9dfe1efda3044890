"""``python -m pipeline``: the command line (see :mod:`pipeline.cli.main`)."""

import sys

from pipeline.cli.main import main

sys.exit(main())
