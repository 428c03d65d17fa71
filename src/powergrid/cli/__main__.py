"""``python -m powergrid.cli``: the ``heron`` command."""

from powergrid.cli import main

main()
