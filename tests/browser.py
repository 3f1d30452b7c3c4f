"""Headless Chromium (Debian's) through Playwright, offline: for the report and the notebooks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def chromium_path() -> str:
    """Debian's chromium; in CI its absence fails the run instead of skipping the tests."""
    path = os.environ.get("TRADEFLOWS_CHROMIUM") or shutil.which("chromium") or ""
    if not path:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (make browser)")
        pytest.skip("no chromium: `make browser` installs Debian's chromium")
    return path


def open_offline(browser, path: Path, *, settle_ms: int = 1500) -> dict:
    """Open a local HTML file with every network request refused; collect what went wrong.

    Returns the page, the console errors and page errors, the requests that
    tried to leave the machine and the dialogs that opened (alert and co).
    """
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict = {"page": page, "errors": [], "external": [], "dialogs": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            return r.continue_()
        seen["external"].append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle_ms)
    return seen


def plot_state(page, selector: str = "div.js-plotly-plot") -> list[dict]:
    """Each plotly figure on the page: its svg layers, traces and drawn paths."""
    return page.evaluate(
        f"""Array.from(document.querySelectorAll({selector!r})).map(d => ({{
            id: d.id, svgs: d.querySelectorAll('svg.main-svg').length,
            traces: (d.data || []).length, paths: d.querySelectorAll('path').length}}))"""
    )
