import sys

try:
    from client.cli import EXIT_INTERRUPTED, main
except KeyboardInterrupt:  # Ctrl-C while Python loads the client (requests takes a moment)
    print("interrupted", file=sys.stderr)
    sys.exit(130)

try:
    sys.exit(main())
except KeyboardInterrupt:  # Ctrl-C while argparse reads the command line
    print("interrupted", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)
