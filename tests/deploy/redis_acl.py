"""compose's Redis ACL users, written by the very script the redis container runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devsupport import ROOT

ACL_SCRIPT = ROOT / "deploy" / "redis" / "users-acl.sh"
# Each service's ACL user: the workers and beat share one, every other service has its own.
SERVICE_USERS = {
    "web": "web",
    "worker": "worker",
    "reports-worker": "worker",
    "beat": "worker",
    "flower": "flower",
    "celery-exporter": "celery-exporter",
    "redis-exporter": "redis-exporter",
}
USERS = sorted(set(SERVICE_USERS.values()))
# Users written only when their password is set: KEDA's, for Kubernetes (compose has no KEDA).
OPTIONAL_USERS = ("keda",)
# Commands no user may run (a bare container command such as CLIENT would include them).
DANGEROUS_COMMANDS = {
    "acl", "bgrewriteaof", "bgsave", "config", "debug", "failover", "flushall", "flushdb",
    "keys", "migrate", "module", "monitor", "psync", "replicaof", "restore", "save",
    "shutdown", "slaveof", "swapdb", "sync", "function",
}  # fmt: skip
DANGEROUS_SUBCOMMANDS = {
    "client|kill", "client|pause", "client|unpause", "client|no-evict", "client|tracking",
    "cluster|reset", "cluster|failover", "script|flush", "script|kill", "latency|reset",
    "slowlog|reset", "memory|purge",
}  # fmt: skip
CONTAINERS = {name.split("|")[0] for name in DANGEROUS_SUBCOMMANDS}


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password: REDIS_PASSWORD_<USER>."""
    return "REDIS_PASSWORD_" + user.upper().replace("-", "_")


def sample_passwords() -> dict[str, str]:
    """A password per user, of the allowed alphabet and length."""
    return {user: f"sample-{user}-0123456789abcdef" for user in USERS}


def sh() -> str:
    found = shutil.which("sh")
    if found is None:
        if os.environ.get("CI"):
            raise RuntimeError("sh is missing")
        pytest.skip("sh is not installed")
    return found


def run_acl_script(acl_file: Path, variables: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the script as the container does, with only ``variables`` in its environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **variables}
    return subprocess.run(
        [sh(), str(ACL_SCRIPT), str(acl_file)],
        env=env,
        capture_output=True,
        text=True,
        check=False,  # the caller reads the exit status
    )


def write_acl(acl_file: Path, passwords: dict[str, str]) -> Path:
    """The ACL file for these passwords (one per user)."""
    variables = {password_variable(user): pw for user, pw in passwords.items()}
    done = run_acl_script(acl_file, variables)
    assert done.returncode == 0, done.stderr
    return acl_file


def acl_rules(acl_file: Path) -> dict[str, list[str]]:
    """Each user's rules, as written in the file (``user NAME rule rule...``)."""
    users = {}
    for line in acl_file.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == "user":
            users[words[1]] = words[2:]
    return users


def dangerous_grants(rules: list[str]) -> list[str]:
    """The rules that grant a dangerous command, a whole category or every command."""
    found = []
    for rule in rules:
        if rule in {"allcommands", "+@all"} or rule.startswith("+@"):
            found.append(rule)
        elif rule.startswith("+"):
            name = rule[1:].lower()
            command = name.split("|")[0]
            if (
                command in DANGEROUS_COMMANDS
                or name in DANGEROUS_SUBCOMMANDS
                or (command in CONTAINERS and "|" not in name)
            ):
                found.append(rule)
    return found
