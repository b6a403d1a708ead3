"""``python -m lifeboat_client …``: the ``lifeboat`` command."""

import sys

try:
    from lifeboat_client.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python loads the libraries
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main(prog_name="lifeboat"))
