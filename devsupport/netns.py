"""Network namespaces standing in for separate hosts on one machine (root only).

A :class:`Network` makes one namespace per host, each with loopback up, its own
host name (a UTS namespace per process it runs) and an ``/etc/hosts`` naming
every host, plus a hub namespace holding a bridge. Every host has a veth pair
into the bridge and one address of a private /24 (``10.231.X.0/24``, X chosen
per run among those unused on this machine); the machine itself (the test
driver) joins the bridge as ``.1``. Traffic stays inside the namespaces: nothing
is routed to the outside, and a host reaches another only by its address or
name, never by 127.0.0.1 (each namespace has its own loopback).

The bridge lives in its own namespace, not in the machine's: the machine's
firewall (Docker's ``FORWARD DROP``, ``br_netfilter``) never sees the hosts'
traffic. Namespace names carry the creating process's id; :func:`sweep_stale`
deletes those of processes that no longer exist, so even a killed run leaves
nothing behind past the next one. ``iproute2`` (``ip``) and util-linux
(``unshare``) do the work: there is no well-kept Python library for it that is
lighter than these two commands, present on every Linux host.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

NAME_PREFIX = "lifeboat"  # namespaces: lifeboat-<pid>-<token>-<host>
NAME_PATTERN = re.compile(rf"^{NAME_PREFIX}-(\d+)-([0-9a-f]+)-")
SUBNET_FIRST_OCTETS = "10.231"  # the private /24 is 10.231.X.0/24
LOCK_FILE = Path("/run/lock/lifeboat-netns.lock")  # serialises choosing X between runs
NETNS_ETC = Path("/etc/netns")  # `ip netns exec` bind-mounts /etc/netns/<ns>/hosts on /etc/hosts
HUB = "hub"  # the namespace that holds the bridge
BRIDGE = "br0"
HOST_IF = "eth0"  # each host's interface
IP_TIMEOUT = 30.0  # seconds one `ip` command may take


class NetnsUnavailable(RuntimeError):
    """Namespaces cannot be made here (not root, no ``ip``/``unshare``, or refused)."""


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "hostname"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise :class:`NetnsUnavailable` with its message when it fails."""
    got = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if check and got.returncode != 0:
        raise NetnsUnavailable(f"ip {' '.join(args)}: {got.stderr.strip()}")
    return got


@dataclass(frozen=True)
class Host:
    """A stand-in host: a network namespace, its address and its host name."""

    name: str  # its host name too: what `hostname` says inside, and /etc/hosts resolves
    netns: str
    address: str

    def wrap(self, cmd: Sequence[str]) -> list[str]:
        """``cmd`` run inside this host: its namespace, a UTS namespace with its host name.

        ``ip netns exec`` and ``unshare`` exec (they do not fork), as does the shell, so the
        process started is ``cmd`` itself: signals and process groups work as usual."""
        return [
            "ip",
            "netns",
            "exec",
            self.netns,
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            'hostname "$0" && exec "$@"',
            self.name,
            *cmd,
        ]

    def run(self, cmd: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` in this host to its end; its output captured."""
        return subprocess.run(
            self.wrap(cmd), capture_output=True, text=True, timeout=timeout, check=False
        )

    def listening(self) -> list[tuple[str, int]]:
        """(address, port) of every TCP socket listening in this host (IPv4 and IPv6)."""
        return [local for state, local, _ in self._sockets() if state == TCP_LISTEN]

    def connections(self) -> list[tuple[tuple[str, int], tuple[str, int]]]:
        """(local, remote) (address, port) of every established TCP connection in this host."""
        return [(loc, rem) for state, loc, rem in self._sockets() if state == TCP_ESTABLISHED]

    def _sockets(self) -> list[tuple[str, tuple[str, int], tuple[str, int]]]:
        """(state, local, remote) of every TCP socket, as this host's /proc/net/tcp{,6} says."""
        out = []
        for table, family in (("tcp", 4), ("tcp6", 6)):
            got = self.run(["cat", f"/proc/net/{table}"])
            for line in got.stdout.splitlines()[1:]:
                fields = line.split()
                local, remote = (_proc_endpoint(f, family) for f in fields[1:3])
                out.append((fields[3], local, remote))
        return out


TCP_ESTABLISHED, TCP_LISTEN = "01", "0A"  # socket states as /proc/net/tcp spells them


def _proc_endpoint(field: str, family: int) -> tuple[str, int]:
    """An (address, port) as /proc/net/tcp{,6} spells it (hex, 32-bit words in host order)."""
    addr_hex, port_hex = field.split(":")
    raw = bytes.fromhex(addr_hex)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.IPv4Address(words) if family == 4 else ipaddress.IPv6Address(words)
    return str(address), int(port_hex, 16)


@dataclass
class Network:
    """Hosts on one private bridge, the machine itself at ``.1``; a context manager that
    tears everything down on exit, whatever happened."""

    names: Sequence[str]
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    hosts: dict[str, Host] = field(default_factory=dict)
    driver_address: str = ""  # the machine's own address on the bridge
    _made: list[str] = field(default_factory=list)  # namespaces made, for teardown
    _links: list[str] = field(default_factory=list)  # links made in the machine's namespace

    def netns_name(self, host: str) -> str:
        return f"{NAME_PREFIX}-{os.getpid()}-{self.token}-{host}"

    def __enter__(self) -> Network:
        reason = unavailable_reason()
        if reason:
            raise NetnsUnavailable(reason)
        sweep_stale()
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _add_netns(self, host: str) -> str:
        name = self.netns_name(host)
        ip("netns", "add", name)
        self._made.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def _create(self) -> None:
        hub = self._add_netns(HUB)
        ip("-n", hub, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", hub, "link", "set", BRIDGE, "up")
        names = {n: self._add_netns(n) for n in self.names}
        with _subnet_lock():
            subnet = _free_subnet()
            addresses = list(subnet.hosts())
            self.driver_address = str(addresses[0])
            root_if = f"lb{self.token}"
            ip("link", "add", root_if, "type", "veth", "peer", "name", "up0", "netns", hub)
            self._links.append(root_if)
            ip("addr", "add", f"{self.driver_address}/{subnet.prefixlen}", "dev", root_if)
            ip("link", "set", root_if, "up")
        self._join(hub, "up0")
        for i, (host, netns) in enumerate(names.items(), start=1):
            address = str(addresses[i])
            hub_if = f"v{i}"
            ip("-n", hub, "link", "add", hub_if, "type", "veth", "peer", "name", HOST_IF)
            ip("-n", hub, "link", "set", HOST_IF, "netns", netns)
            self._join(hub, hub_if)
            ip("-n", netns, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", HOST_IF)
            ip("-n", netns, "link", "set", HOST_IF, "up")
            self.hosts[host] = Host(host, netns, address)
        self._write_hosts_files()

    def _join(self, hub: str, link: str) -> None:
        ip("-n", hub, "link", "set", link, "master", BRIDGE)
        ip("-n", hub, "link", "set", link, "up")

    def _write_hosts_files(self) -> None:
        lines = ["127.0.0.1 localhost", "::1 localhost"]
        lines += [f"{h.address} {h.name}" for h in self.hosts.values()]
        for host in self.hosts.values():
            folder = NETNS_ETC / host.netns
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text("\n".join(lines) + "\n")

    def close(self) -> None:
        """Stop whatever still runs in the namespaces, delete them and their links."""
        for netns in reversed(self._made):
            delete_netns(netns)
        self._made.clear()
        for link in self._links:  # gone with its peer's namespace, normally
            ip("link", "del", link, check=False)
        self._links.clear()


def delete_netns(name: str) -> None:
    """Kill the processes left in namespace ``name`` (a run's own), then delete it."""
    pids = ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    ip("netns", "del", name, check=False)
    shutil.rmtree(NETNS_ETC / name, ignore_errors=True)


def sweep_stale() -> list[str]:
    """Delete the namespaces of runs whose process no longer exists; their names."""
    got = ip("netns", "list", check=False).stdout.split("\n")
    stale = []
    for line in got:
        name = line.split(" ", 1)[0]
        m = NAME_PATTERN.match(name)
        if m and not _alive(int(m.group(1))):
            delete_netns(name)
            stale.append(name)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _subnet_lock() -> Iterator[None]:
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.231.X.0/24 no address or route of this machine's namespace uses."""
    used = ip("-4", "-o", "addr", "show").stdout + ip("-4", "route", "show").stdout
    candidates = list(range(256))
    random.shuffle(candidates)
    for x in candidates:
        net = f"{SUBNET_FIRST_OCTETS}.{x}."
        if not re.search(rf"(?<![\d.]){re.escape(net)}", used):
            return ipaddress.IPv4Network(f"{net}0/24")
    raise NetnsUnavailable(f"every {SUBNET_FIRST_OCTETS}.X.0/24 is in use here")
