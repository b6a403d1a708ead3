"""``make run``'s private Redis: a password kept in ``var/``, an append-only file on disk.

Everything lives in one folder (``var/redis``, mode 0700): ``password`` (made on
first start), ``redis.conf`` (rewritten at every start, from the settings) and
the append-only file, so a restart keeps queued jobs. The password reaches
redis-server through ``redis.conf`` and the other processes through their
environment, never a command line (``ps`` shows command lines to every user).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from devsupport.ports import LOOPBACK
from devsupport.redis_server import redis_binary

PASSWORD_BYTES = 24  # random bytes of a generated password (48 hex digits)
PRIVATE_MODE = 0o600  # password, configuration and URL files: the owner only
PRIVATE_DIR_MODE = 0o700


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (also while it is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, PRIVATE_MODE)  # an older file keeps its mode through O_CREAT


def without_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: what may be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class PrivateRedis:
    """A password-protected, durable redis-server whose files live in ``folder``."""

    folder: Path
    appendfsync: str = "everysec"  # when the append-only file is fsynced: everysec or always

    @property
    def password_file(self) -> Path:
        return self.folder / "password"

    @property
    def config_file(self) -> Path:
        return self.folder / "redis.conf"

    @property
    def url_file(self) -> Path:
        """The full URL, password included, for a process started by hand."""
        return self.folder / "url"

    def password(self) -> str:
        """The password: read from ``password_file``, made on first use."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, PRIVATE_DIR_MODE)
        if not self.password_file.exists():
            write_private(self.password_file, secrets.token_hex(PASSWORD_BYTES) + "\n")
        os.chmod(self.password_file, PRIVATE_MODE)
        return self.password_file.read_text(encoding="utf-8").strip()

    def url(self, port: int, db: int = 0) -> str:
        return f"redis://:{self.password()}@{LOOPBACK}:{port}/{db}"

    def command(self, port: int) -> list[str]:
        """redis-server on loopback ``port``, configured by a freshly written ``redis.conf``."""
        config = {
            "bind": LOOPBACK,
            "dir": str(self.folder.resolve()),
            "requirepass": self.password(),
            "appendonly": "yes",
            "appendfsync": self.appendfsync,
            "save": '""',  # the append-only file is the copy on disk; no RDB snapshots
        }
        write_private(self.config_file, "".join(f"{k} {v}\n" for k, v in config.items()))
        write_private(self.url_file, self.url(port) + "\n")
        return [redis_binary(), str(self.config_file.resolve()), "--port", str(port)]
