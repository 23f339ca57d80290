"""The admin's live page in headless Chromium: it fills itself from the gateways and follows new clients."""

from __future__ import annotations

import re

from playwright.sync_api import expect

TIMEOUT = 10_000  # ms: the page asks every two seconds, and each answer takes the inspector's one second


def test_the_live_page_follows_the_connections(open_page, demo_url: str) -> None:
    admin = open_page()
    admin.goto(demo_url + "/admin/login/?next=/admin/res_bridge/livegateways/")
    admin.fill("#id_username", "admin")
    admin.fill("#id_password", "admin")
    admin.click("input[type=submit]")
    status = admin.locator("#live-status")
    expect(status).to_have_text(re.compile(r"^\d+ gateway\(s\): \d+ connections"), timeout=TIMEOUT)
    expect(admin.locator("#live-gateways tbody tr").first).to_be_visible()
    before = int(re.search(r"(\d+) connections", status.inner_text()).group(1))

    reader = open_page()  # the demo page: one more WebSocket connection, subscribed to the books
    expect(reader.locator("#status")).to_have_text("online", timeout=TIMEOUT)
    expect(status).to_contain_text(f" {before + 1} connections", timeout=TIMEOUT)
    expect(admin.locator("#live-resources tbody")).to_contain_text("library.books", timeout=TIMEOUT)
