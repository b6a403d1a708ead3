"""The network-namespace harness: hosts that reach each other by name, each with a loopback
of its own, and nothing left behind (also after a failure, or a run that was killed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from devsupport import http_ok, start, wait_until
from devsupport.netns import NETNS_ETC, Network, ip, sweep_stale, unavailable_reason

pytestmark = [pytest.mark.integration, pytest.mark.multihost]

SERVE = [sys.executable, "-m", "http.server", "--bind"]


@pytest.fixture(scope="module", autouse=True)
def needs_root() -> None:
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"network namespaces: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def net() -> Iterator[Network]:
    with Network(["alpha", "beta"]) as n:
        yield n


def namespaces() -> set[str]:
    return {line.split(" ", 1)[0] for line in ip("netns", "list").stdout.splitlines()}


def fetch(url: str) -> list[str]:
    """A command that prints the HTTP status of ``url`` (or the error)."""
    code = f"import urllib.request as u\ntry: print(u.urlopen({url!r}, timeout=3).status)\n"
    code += "except OSError as e: print(type(e).__name__)"
    return [sys.executable, "-c", code]


def test_hosts_reach_each_other_by_name_and_the_machine_reaches_them(
    net: Network, tmp_path
) -> None:
    alpha, beta = net.hosts["alpha"], net.hosts["beta"]
    assert alpha.run(["hostname"]).stdout.strip() == "alpha"
    server = start("http", alpha.wrap([*SERVE, alpha.address, "8000"]), dict(os.environ), tmp_path)
    try:
        url = f"http://{alpha.address}:8000/"
        wait_until(lambda: http_ok(url), 20, "a server on alpha", server)
        assert beta.run(fetch("http://alpha:8000/")).stdout.strip() == "200"
    finally:
        server.stop()


def test_a_hosts_loopback_is_its_own(net: Network, tmp_path) -> None:
    alpha, beta = net.hosts["alpha"], net.hosts["beta"]
    server = start("http", alpha.wrap([*SERVE, "127.0.0.1", "8001"]), dict(os.environ), tmp_path)
    try:
        here = fetch("http://127.0.0.1:8001/")
        wait_until(lambda: alpha.run(here).stdout.strip() == "200", 20, "loopback", server)
        assert alpha.listening() == [("127.0.0.1", 8001)]
        assert beta.run(here).stdout.strip() == "URLError"  # refused: beta's own loopback
        assert not http_ok("http://127.0.0.1:8001/")  # nor the machine's
    finally:
        server.stop()


def test_closing_removes_every_namespace_link_and_hosts_file_even_after_a_failure() -> None:
    seen: dict[str, object] = {}

    def use_and_fail() -> None:
        with Network(["solo"]) as n:
            seen["made"] = {h.netns for h in n.hosts.values()} | {n.netns_name("hub")}
            seen["there"] = seen["made"] <= namespaces()
            seen["link"] = f"lb{n.token}"
            seen["linked"] = seen["link"] in ip("-o", "link", "show").stdout  # the machine's end
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        use_and_fail()
    made, link = seen["made"], seen["link"]
    assert seen["there"]
    assert seen["linked"]
    assert not made & namespaces()
    assert link not in ip("-o", "link", "show").stdout
    assert not any((NETNS_ETC / name).exists() for name in made)


def test_the_namespaces_of_a_run_that_died_are_swept() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    name = f"lifeboat-{gone.pid}-0badc0-infra"
    ip("netns", "add", name)
    try:
        assert name in sweep_stale()
        assert name not in namespaces()
    finally:
        ip("netns", "del", name, check=False)
