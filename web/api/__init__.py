"""The API's contract: every operation's request, defined once, read and documented from it.

Each route's view carries an :class:`~web.api.contract.Operation` (its query and
header parameters, its body schemas, its answers). The same JSON Schemas validate
requests (``jsonschema_rs``, every bad field named) and make the OpenAPI document
(:mod:`web.api.document`), so the document says what the server enforces.
"""

from web.api.contract import Operation, Param

__all__ = ["Operation", "Param"]
