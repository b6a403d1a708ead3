"""Completion webhooks: a finished job's resource POSTed, signed, to its callback URL.

- :mod:`core.webhooks.urls`: which URLs a webhook may go to (checked at submit and again
  when delivering, against the address it resolves to then);
- :mod:`core.webhooks.signing`: each tenant's signing secret and the Standard Webhooks headers;
- :mod:`core.webhooks.delivery`: one attempt over HTTP, whether and when to retry it, and
  what the job record shows of its attempts.
"""

from __future__ import annotations

from core.webhooks.urls import CallbackRefused, Target, allowed_hosts, check

__all__ = ["CallbackRefused", "Target", "allowed_hosts", "check"]
