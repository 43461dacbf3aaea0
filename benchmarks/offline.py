"""A form answered with no connection: what it weighs, and how soon it is sent once the connection returns.

Usage: .venv/bin/python benchmarks/offline.py [--runs 20]

Prints the bytes of the ODI page and of the service worker it installs (/f/sw.js), each
gzip-compressed as it is sent, against the 14 KB budget of the whole page; then, in a real
headless Chromium (the system one, as the browser tests drive it) on the app served over HTTP:
a VAS page is opened, the worker keeps the link's forms, the line is marked, the network is cut
(`context.set_offline(True)`), the form is sent (it waits on the phone), and the network comes
back. The time from "online again" to the page saying "sent" is measured, median and worst of
``--runs``; the server is on this machine, so this is the page's own reaction, not a network's.
"""
from __future__ import annotations

import argparse
import gzip
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.patient_pages import FIRST_ROUND_TRIP_BYTES, enroll, link, setup  # noqa: E402
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveServer  # noqa: E402

SENT = "Sent: we have received your answers"
DEADLINE_MS = 10_000


def weigh(client, token: str) -> None:
    page = len(gzip.compress(client.get(f"/f/{token}/odi").data, compresslevel=6))
    worker = len(gzip.compress(client.get("/f/sw.js").data, compresslevel=6))
    total = page + worker
    print(f"ODI page {page:,} B + service worker {worker:,} B = {total:,} B gzip "
          f"(budget {FIRST_ROUND_TRIP_BYTES:,} B: {'within' if total <= FIRST_ROUND_TRIP_BYTES else 'OVER'})")


def until(condition, page) -> None:
    deadline = time.monotonic() + DEADLINE_MS / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("not within the deadline")
        page.wait_for_timeout(20)


def one_run(browser, base_url: str, token: str) -> float:
    """Seconds from the network's return to "sent" on the page, for one form kept offline."""
    context = browser.new_context(base_url=base_url, **PHONE)
    try:
        page = context.new_page()
        page.goto(f"/f/{token}/vas")
        until(lambda: page.evaluate("navigator.serviceWorker.controller !== null"), page)
        until(lambda: page.locator("form[data-offline=ready]").count() == 1, page)
        track = page.locator("#vas-track")
        box = track.bounding_box()
        track.tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
        context.set_offline(True)
        page.get_by_role("button", name="Save and continue").tap()
        page.locator("#offline-status .notice").wait_for()
        status = page.locator("#offline-status")
        start = time.perf_counter()
        context.set_offline(False)
        status.get_by_text(SENT).wait_for(timeout=DEADLINE_MS)
        return time.perf_counter() - start
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # a line per request, not a figure
    with tempfile.TemporaryDirectory() as tmp:
        app = setup(Path(tmp) / "bench.sqlite3")
        enroll(app, "W-1", 30)
        weigh(app.test_client(), link(app, "W-1", "month1"))
        tokens = []
        for i in range(args.runs):
            enroll(app, f"O-{i}", 0)
            tokens.append(link(app, f"O-{i}", "baseline"))
        with LiveServer(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                samples = sorted(one_run(browser, server.url, token) * 1000 for token in tokens)
            finally:
                browser.close()
    print(f"online again -> 'sent' (runs={args.runs}): median {statistics.median(samples):.0f} ms, "
          f"worst {samples[-1]:.0f} ms, best {samples[0]:.0f} ms")


if __name__ == "__main__":
    main()
