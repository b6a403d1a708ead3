"""The console in Debian's chromium (Playwright, never a downloaded browser) on a real stack.

One stack for the module: gunicorn, a Celery worker (batch parts slowed a little, so a
batch is seen running), beat with a drift check every 2 s. Each page is opened in a
context that records Content-Security-Policy violations and page errors (a test fails
on any), is checked by axe-core (vendored under ``vendor/``, injected by the test) at
desktop and phone widths, and is photographed at both into ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devsupport import RedisServer, Stack, make_stack, wait_until
from devsupport.browser import chromium_installed, launch
from tests.conftest import new_db
from tests.payloads import passengers

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent
SCREENSHOTS = HERE / "screenshots"
AXE = HERE / "vendor" / "axe-core-4.14.1.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # axe-core 4.14.1
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SEEDED_PREDICTIONS = 300  # logged before the tests: drift checks and reports need rows
LABELLED = 100  # of them given feedback: a measured accuracy
BAD_IMPACTS = ("serious", "critical")
RECORD = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__problems.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => window.__problems.push('error ' + e.message));
"""


@pytest.fixture(scope="module")
def console_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = make_stack(
        redis_server,
        new_db(),
        models_dir,
        tmp_path_factory.mktemp("console"),
        LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS="2",
        LIFEBOAT_DRIFT_CHECK_MIN_ROWS="50",
        LIFEBOAT_ACCURACY_MIN_LABELS="10",
        LIFEBOAT_BATCH_FAULT_DELAY_SECONDS="0.3",  # a 100k-row batch runs for seconds
        LIFEBOAT_FLOWER_URL="http://127.0.0.1:5555",
        LIFEBOAT_GRAFANA_URL="http://127.0.0.1:3000",
    )
    try:
        s.start_worker()
        s.start_web()
        s.start_beat()
        r = s.http.post(
            s.url("/api/v1/predictions?wait=20"),
            json={"instances": passengers(SEEDED_PREDICTIONS)},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        job_id = r.json()["id"]
        labels = [
            {"prediction_id": f"{job_id}-{i}", "actual": ("died", "survived")[i % 2]}
            for i in range(LABELLED)
        ]
        r = s.http.post(s.url("/api/v1/feedback"), json={"items": labels}, timeout=10)
        assert r.ok, r.text
        yield s
    finally:
        s.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not chromium_installed():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@dataclass
class Console:
    """A browser tab on the console, signed in with ``token``."""

    stack: Stack
    page: Any
    token: str
    shots: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        self.page.goto(self.stack.url(path), wait_until="load")
        return self.page

    def sign_in(self) -> None:
        self.open("/console/signin")
        self.page.get_by_label("API key").fill(self.token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/console/jobs")

    def problems(self) -> list[str]:
        return self.page.evaluate("window.__problems || []")

    def check(self, name: str) -> None:
        """No CSP violation or page error so far; axe finds nothing serious at either width;
        a screenshot at each."""
        assert self.problems() == []
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.wait_for_timeout(200)  # charts and grids settle at the new width
            assert serious_violations(self.page) == [], f"{name} at {label}"
            # nothing wider than the screen: wide tables scroll inside their own box
            assert self.page.evaluate("document.documentElement.scrollWidth") <= size["width"]
            SCREENSHOTS.mkdir(exist_ok=True)
            path = SCREENSHOTS / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            self.shots.append(path.name)
        self.page.set_viewport_size(DESKTOP)


def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "axe-core differs from the pinned one"
    return data.decode()


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (WCAG 2.1 A/AA and best practice).

    Injected through the DevTools protocol, as an extension would: the console's own CSP
    (no script but its files) stays in force for the page."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;undefined")
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}))"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in json.loads(result)["violations"]
        if v["impact"] in BAD_IMPACTS
    ]


@pytest.fixture
def console(console_stack: Stack, browser: Any) -> Iterator[Console]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.add_init_script(RECORD)
    try:
        c = Console(console_stack, context.new_page(), console_stack.admin_key)
        c.sign_in()
        yield c
    finally:
        context.close()


def wait_for_drift_check(stack: Stack, version: str = "test-v1", timeout: float = 60) -> dict:
    """The version's monitoring once a scheduled drift check and the accuracy update (from
    the feedback) have recorded their results."""
    found: dict[str, Any] = {}

    def checked() -> bool:
        r = stack.http.get(stack.url(f"/api/v1/models/{version}/monitoring"), timeout=5)
        found.update(r.json())
        return r.ok and None not in (found.get("drift_check"), found.get("measured_accuracy"))

    wait_until(checked, timeout, "a scheduled drift check", stack.procs.get("beat"))
    return found
