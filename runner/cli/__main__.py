"""`python -m runner.cli`: the `tenancy` command."""

import sys

from runner.cli import main

sys.exit(main())
