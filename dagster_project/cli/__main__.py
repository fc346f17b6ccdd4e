"""`python -m dagster_project.cli` runs the `ahw` command."""

import sys

from dagster_project.cli import main

sys.exit(main())
