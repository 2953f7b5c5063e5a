"""``python -m affectlens`` = the ``affectlens`` command."""

import sys

from affectlens.cli import main

sys.exit(main())
