"""The console at ``/console/``: server-rendered pages for people, over the JSON API.

Each page is a template with the shape of its screen; its own script (``static/js``,
enhanced by the vendored Alpine.js CSP build) calls ``/api/v1`` with the API key the
person signed in with, kept in ``sessionStorage`` and sent as ``Authorization:
Bearer`` (never a cookie or a URL). The pages themselves hold no data and need no key.
Every script is a file of ``static/``: the pages' Content-Security-Policy
(:mod:`web.headers`) allows no other. A report's Evidently HTML is shown in
``report-frame``: a sandboxed page (opaque origin) the console posts the HTML to.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, redirect, render_template, url_for

from web.services import services

HERE = Path(__file__).parent
STATIC = HERE / "static"
ASSET_MAX_AGE = 365 * 86_400  # seconds a browser keeps a file: its URL names its content


class ConsoleBlueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int:
        """Every page names its files by content (``asset``): a browser asks for each once."""
        return ASSET_MAX_AGE


bp = ConsoleBlueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder=str(HERE / "templates"),
    static_folder=str(STATIC),
    static_url_path="/static",
)
PAGES = {  # path -> the title of its page, in the order of the navigation
    "jobs": "Jobs",
    "predict": "Predict",
    "batches": "Batches",
    "reports": "Reports",
    "models": "Models",
}
ENDPOINTS = frozenset(  # pages for people, not operations of the API: undocumented, public
    {"console.static", "console.home", "console.page", "console.job", "console.report_frame"}
)


@lru_cache(maxsize=64)
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


@bp.app_template_global()
def asset(filename: str) -> str:
    """A static file's URL, with a digest of its content: cached for good, never stale."""
    return url_for("console.static", filename=filename, v=_digest(filename))


def _render(template: str, title: str, active: str, **context: object) -> str:
    settings = services().settings
    links = {"API docs": "/docs", "Flower": settings.flower_url, "Grafana": settings.grafana_url}
    return render_template(
        template,
        title=title,
        active=active,
        pages=PAGES,
        links={name: url for name, url in links.items() if url},
        **context,
    )


@bp.get("/")
def home() -> Response:
    return redirect("/console/jobs")  # type: ignore[return-value]


@bp.get("/<name>")
def page(name: str) -> str:
    if name == "signin":
        return _render("console/signin.html", "Sign in", "signin")
    if name not in PAGES:
        abort(404)
    return _render(f"console/{name}.html", PAGES[name], name)


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> str:
    return _render("console/job.html", "Job", "jobs", job_id=job_id)


@bp.get("/report-frame")
def report_frame() -> str:
    """An empty sandboxed page that shows the report HTML its parent posts to it."""
    return render_template("console/report_frame.html")
