"""The Lua scripts Lifeboat runs in Redis, one ``.lua`` file each, read from this package.

Each file starts with a comment naming its KEYS and ARGV. A script that appends to
the prediction log is joined with :data:`core.prediction_log.APPEND` (a Lua
function) before it is registered: the log's owner writes its entries.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def source(name: str) -> str:
    """The text of ``<name>.lua``."""
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
