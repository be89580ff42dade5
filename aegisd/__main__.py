"""`python -m aegisd` is the `aegisd` command."""

import sys

from aegisd.cli import main

# Guarded: process-pool workers (forkserver/spawn) re-import the main module.
if __name__ == "__main__":
    sys.exit(main())
