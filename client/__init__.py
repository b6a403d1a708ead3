"""Lifeboat's command-line client: ``python -m client batch input.csv -o scored.csv``."""

__all__: list[str] = []
