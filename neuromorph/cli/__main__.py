"""``python -m neuromorph.cli``: the ``neuromorph`` command."""
import sys

from . import main

sys.exit(main())
