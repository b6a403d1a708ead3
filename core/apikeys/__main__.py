"""``python -m core.apikeys``: make the first admin key, list and revoke keys.

``create`` prints the token alone on stdout (the only time it is shown) and the
key's id on stderr, so ``TOKEN=$(python -m core.apikeys create …)`` works.
Uses ``LIFEBOAT_REDIS_URL`` and ``LIFEBOAT_KEY_PREFIX`` like every process.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict

import redis

from core import stores
from core.apikeys.model import SCOPES, TENANT_PATTERN
from core.errors import LifeboatError
from core.settings import get_settings

DAY = 86_400  # seconds


def _tenant(value: str) -> str:
    if not re.match(TENANT_PATTERN, value):
        raise argparse.ArgumentTypeError(f"must match {TENANT_PATTERN}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.apikeys", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key; its token is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--tenant", required=True, type=_tenant)
    create.add_argument("--scopes", required=True, nargs="+", choices=SCOPES)
    create.add_argument("--expires-in-days", type=float, help="default: never")
    create.add_argument("--rate-limit", type=float, help="requests/second (default: settings)")
    create.add_argument("--callback-url", help="webhook of its jobs that name none (default: none)")
    sub.add_parser("list", help="every key as JSON lines, without secrets")
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    store = stores.api_keys(settings, redis.Redis.from_url(settings.redis_url))
    try:
        if args.command == "create":
            expires = time.time() + args.expires_in_days * DAY if args.expires_in_days else None
            key, token = store.create(
                name=args.name,
                tenant=args.tenant,
                scopes=frozenset(args.scopes),
                expires_at=expires,
                rate_limit_per_second=args.rate_limit,
                callback_url=args.callback_url,
            )
            print(f"created {key.id} ({key.name}, tenant {key.tenant})", file=sys.stderr)
            print(token)
        elif args.command == "list":
            for key in store.list():
                print(json.dumps({**asdict(key), "scopes": sorted(key.scopes)}))
        else:
            print(f"revoked {store.revoke(args.key_id).id}")
    except LifeboatError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
