"""Tests of the ``ml`` package."""
