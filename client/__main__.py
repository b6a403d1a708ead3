"""``python -m client batch in.csv -o out.csv`` (any ``lifeboat`` command) from a checkout.

Runs ``lifeboat_client`` from this folder, not installed. Exit statuses are the
``lifeboat`` command's, except that a failed job exits 1 here, as it always has
for scripts written against ``python -m client``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder holds lifeboat_client

try:
    from lifeboat_client.cli import EXIT_FAILED, EXIT_INTERRUPTED, main
except KeyboardInterrupt:  # Ctrl-C while Python loads the libraries
    print("interrupted", file=sys.stderr)
    sys.exit(130)

try:
    sys.exit(main(prog_name="python -m client", job_failed_status=EXIT_FAILED))
except KeyboardInterrupt:  # Ctrl-C between the command's end and the exit
    print("interrupted", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)
