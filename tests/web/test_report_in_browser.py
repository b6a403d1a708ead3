"""A report built from hostile data, in a real browser: no script of the data runs as the API.

Debian's chromium, driven by Playwright (never a downloaded browser), first
stores a secret in the API origin's ``localStorage``; then it opens the report
of a drift job whose uploaded CSV has ``</script><script>…`` in a category.
That script would mark the API origin's storage and raise an alert. The test
checks that no alert came, the mark is absent from the API origin, and the
report page itself runs in an opaque origin (its charts still render).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devsupport import Stack
from devsupport.browser import chromium_installed, launch
from tests.web.hostile import MARK
from tests.web.test_served_content import hostile_report

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not chromium_installed():
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def test_no_script_from_a_reports_data_runs_in_the_api_origin(stack: Stack, browser) -> None:
    job = hostile_report(stack)
    context = browser.new_context(extra_http_headers=stack.http.headers)  # the admin key
    dialogs: list[str] = []
    try:
        api = context.new_page()
        api.goto(stack.url("/health"))
        api.evaluate("localStorage.setItem('secret', 's3cr3t')")

        report = context.new_page()
        report.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # the page's inline scripts, the data's among them, have run once it has loaded
        report.goto(stack.url(f"/api/v1/jobs/{job['id']}/report"), wait_until="load")
        origin = report.evaluate("window.origin")
        storage = api.evaluate(f"[localStorage.getItem('secret'), localStorage.getItem('{MARK}')]")
        assert dialogs == []
        assert storage == ["s3cr3t", None]  # the API origin's storage: untouched
        assert origin == "null"  # the report runs sandboxed, in an opaque origin
        # and the report still works there: its charts are drawn by its own scripts
        report.wait_for_function("document.querySelectorAll('svg, canvas').length > 0")
    finally:
        context.close()
