"""Response headers that make what the API serves safe to open in a browser.

- Every response: ``X-Content-Type-Options: nosniff``, so a browser renders a
  body only as the type the API declares (a scored CSV is never sniffed into HTML).
- A job, its scored file and its report: ``Cache-Control: no-store``, so no
  shared or browser cache keeps a client's results.
- A report's HTML (built by Evidently from uploaded data): ``Content-Security-Policy:
  sandbox allow-scripts``. Its charts are scripts and still run, but in an
  opaque origin: nothing in the page can read the API origin's cookies or
  storage, or call the API as the user's browser.
- The console's pages: a Content-Security-Policy that runs only the console's own
  script files (no inline script, no eval, nothing from another origin), lets them
  call only this origin, and lets no other site frame them.
"""

from __future__ import annotations

from flask import Flask, Response, request

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
CONSOLE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
CONSOLE = {"Content-Security-Policy": CONSOLE_POLICY, "Referrer-Policy": "no-referrer"}
NO_STORE = {"Cache-Control": "no-store"}
REPORT_POLICY = "sandbox allow-scripts"  # scripts run, in an opaque origin of their own

# blueprint endpoint -> headers of each of its responses (errors included)
ENDPOINT_HEADERS: dict[str, dict[str, str]] = {
    "jobs.get_job": NO_STORE,
    "jobs.list_jobs": NO_STORE,
    "jobs.get_result": NO_STORE,
    "jobs.get_report": {**NO_STORE, "Content-Security-Policy": REPORT_POLICY},
    # the frame the console shows a report in: the report's own policy, framed by the console
    "console.report_frame": {"Content-Security-Policy": REPORT_POLICY},
}


def init_app(app: Flask) -> None:
    """Add the headers above to every response of ``app``."""
    app.after_request(add_headers)


def add_headers(resp: Response) -> Response:
    resp.headers.update(NOSNIFF)
    if request.blueprint == "console":
        resp.headers.update(CONSOLE)
    resp.headers.update(ENDPOINT_HEADERS.get(request.endpoint or "", {}))
    return resp
