"""``python -m nanotf``: the nanotf command line."""

import sys

from nanotf.tools.cli import main

sys.exit(main())
