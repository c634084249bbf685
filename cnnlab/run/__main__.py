"""``python -m cnnlab.run SCRIPT [ARGS]``: the same as ``cnnlab run``."""

import sys

from cnnlab.run import run_script

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print("usage: python -m cnnlab.run SCRIPT [ARGS ...]", file=sys.stderr)
    sys.exit(2)
sys.exit(run_script(sys.argv[1], sys.argv[2:]))
