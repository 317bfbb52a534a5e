"""`python -m ketamine_outcomes.cli ...`: the same as the `ketamine-outcomes` command."""

import sys

from ketamine_outcomes.cli.commands import main

sys.exit(main())
