"""The ``lifeboat`` command (click; rich for tables and progress): ``main`` runs it."""

from lifeboat_client.cli import batch, commands, deployment
from lifeboat_client.cli.app import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_JOB_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    cli,
    main,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_JOB_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "batch",
    "cli",
    "commands",
    "deployment",
    "main",
]
