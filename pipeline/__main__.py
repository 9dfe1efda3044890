"""``python -m pipeline``: the command line (see :mod:`pipeline.cli`)."""

import sys

from pipeline.cli import main

sys.exit(main())
