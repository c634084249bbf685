"""``python -m cnnlab``: the same as the ``cnnlab`` command."""

import sys

from cnnlab.cli.main import main

sys.exit(main())
