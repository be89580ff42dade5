"""`python -m aegisd` is the `aegisd` command."""

import sys

from aegisd.cli import main

sys.exit(main())
