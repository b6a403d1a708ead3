"""The README's "Layout" section names every package of the tree, and only paths that exist."""

from __future__ import annotations

import re

from devsupport import ROOT

SKIP = {"tests", ".venv", ".venv-exporter", "var", "models", "node_modules"}
MAX_MODULE_LINES = 350  # a production module longer than this wants splitting by concern


def layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Layout")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def named_paths(section: str) -> set[str]:
    """Folders and files the section names (``/openapi.json`` is a URL, not a path)."""
    return {p for p in re.findall(r"`([\w./-]+)`", section) if "/" in p and not p.startswith("/")}


def packages() -> set[str]:
    found = set()
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and rel.parts[0] not in SKIP and not rel.parts[0].startswith("."):
            found.add(f"{rel.as_posix()}/")
    return found


def test_every_package_is_named_in_the_layout_section() -> None:
    missing = packages() - named_paths(layout_section())
    assert not missing, f"packages the README's Layout section does not name: {sorted(missing)}"


def test_every_path_the_layout_section_names_exists() -> None:
    named = named_paths(layout_section())
    assert named, "the Layout section names no paths"
    absent = sorted(p for p in named if not (ROOT / p).exists())
    assert not absent, f"named in the Layout section but absent: {absent}"


def test_modules_named_in_a_row_live_in_that_folder() -> None:
    for folder, holds in re.findall(r"^\| `([\w/-]+/)` \| (.*) \|$", layout_section(), re.M):
        for module in re.findall(r"`(\w+\.py)`", holds):
            assert (ROOT / folder / module).is_file(), f"{folder}{module} is named but absent"


def test_no_production_module_is_over_the_size_limit() -> None:
    too_long = {}
    for folder in ("core", "web", "workers", "ml", "telemetry", "client", "devsupport", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            if lines > MAX_MODULE_LINES:
                too_long[path.relative_to(ROOT).as_posix()] = lines
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"
