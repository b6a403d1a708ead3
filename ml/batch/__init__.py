"""Bulk scoring of files: chunks of rows, CSV parts and their merge, Parquet parts."""

__all__ = ["chunks", "columns", "parquet", "parts"]
