"""The demo page in headless Chromium: two windows stay in sync, shelves are private, revocation is live."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

TIMEOUT = 10_000  # ms, for changes that travel page -> gateway -> service -> gateway -> page


def sign_in(page: Page, username: str, password: str = "demo") -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#user-name")).to_have_text(username, timeout=TIMEOUT)


def book_titles(page: Page):
    return page.locator("#books .book-title")


def test_a_change_in_one_window_shows_in_the_other(open_page) -> None:
    first, second = open_page(), open_page()
    for page in (first, second):
        expect(page.locator("#status")).to_have_text("online", timeout=TIMEOUT)
        expect(book_titles(page).first).to_be_visible(timeout=TIMEOUT)

    renamed = f"Renamed {uuid.uuid4().hex[:8]}"
    row = first.locator("#books .book").first
    row.locator(".edit").click()
    row.locator(".edit-title").fill(renamed)
    row.locator(".editor button[type=submit]").click()
    expect(book_titles(second).filter(has_text=renamed)).to_have_count(1, timeout=TIMEOUT)

    added = f"Added {uuid.uuid4().hex[:8]}"
    second.fill("#new-title", added)
    second.fill("#new-author", "A. Tester")
    second.click("#new-book button[type=submit]")
    expect(book_titles(first).filter(has_text=added)).to_have_count(1, timeout=TIMEOUT)

    first.locator("#books .book", has_text=added).locator(".delete").click()
    expect(book_titles(second).filter(has_text=added)).to_have_count(0, timeout=TIMEOUT)
    expect(book_titles(first).filter(has_text=added)).to_have_count(0, timeout=TIMEOUT)


def sign_out(page: Page) -> None:
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#shelves-state")).to_have_attribute("data-state", "signed-out", timeout=TIMEOUT)
    expect(page.locator("#shelves .shelf")).to_have_count(0)


def test_shelves_are_private(open_page) -> None:
    page = open_page()
    expect(page.locator("#shelves-state")).to_have_attribute("data-state", "signed-out", timeout=TIMEOUT)
    expect(page.locator("#shelves .shelf")).to_have_count(0)

    sign_in(page, "carol")
    expect(page.locator("#shelves-state")).to_have_attribute("data-state", "denied", timeout=TIMEOUT)
    expect(page.locator("#shelves .shelf")).to_have_count(0)
    sign_out(page)

    sign_in(page, "alice")
    expect(page.locator("#shelves .shelf")).to_have_count(2, timeout=TIMEOUT)
    sign_out(page)


def test_bob_reads_shelves_but_may_not_edit_them(open_page) -> None:
    bob, alice = open_page(), open_page()
    sign_in(bob, "bob")
    sign_in(alice, "alice")
    shelf = bob.locator("#shelves .shelf").first
    expect(shelf).to_be_visible(timeout=TIMEOUT)
    name = shelf.locator(".shelf-name").inner_text()

    shelf.locator(".edit").click()
    shelf.locator(".edit-name").fill("Taken over by bob")
    shelf.locator(".editor button[type=submit]").click()
    expect(shelf.locator(".shelf-error")).to_contain_text("Not saved", timeout=TIMEOUT)
    expect(shelf.locator(".shelf-error")).to_contain_text("denied")
    expect(alice.locator("#shelves .shelf-name").first).to_have_text(name)

    # alice may: her rename reaches bob's window.
    renamed = f"Shelf {uuid.uuid4().hex[:8]}"
    mine = alice.locator("#shelves .shelf").first
    mine.locator(".edit").click()
    mine.locator(".edit-name").fill(renamed)
    mine.locator(".editor button[type=submit]").click()
    expect(bob.locator("#shelves .shelf-name").first).to_have_text(renamed, timeout=TIMEOUT)

    # A shelf lists its books by reference: renaming a book in the list renames it on the shelf.
    book = alice.locator("#books .book", has_text="Brave New World")
    book.locator(".edit").click()
    book.locator(".edit-title").fill("Brave New Shelf World")
    book.locator(".editor button[type=submit]").click()
    expect(bob.locator("#shelves .shelf-books", has_text="Brave New Shelf World")).to_have_count(
        1, timeout=TIMEOUT
    )


def test_a_django_session_signs_the_page_in(open_page, demo_url: str) -> None:
    page = open_page()
    page.goto(demo_url + "/admin/login/?next=/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(demo_url + "/")
    expect(page.locator("#user-name")).to_have_text("admin", timeout=TIMEOUT)  # the `session` auth method
    expect(page.locator("#login-form")).to_be_hidden()


def test_an_admin_rule_change_revokes_and_regrants_access_on_the_open_page(open_page, demo_url: str) -> None:
    page = open_page()
    sign_in(page, "bob")
    expect(page.locator("#shelves .shelf").first).to_be_visible(timeout=TIMEOUT)

    # The admin, in another window, unticks "can get" on bob's rule for library.shelves.
    admin = open_page()
    admin.goto(demo_url + "/admin/login/?next=/admin/res_bridge/accessrule/%3Fq%3Dbob")
    admin.fill("#id_username", "admin")
    admin.fill("#id_password", "admin")
    admin.click("input[type=submit]")
    admin.get_by_role("link", name="library.shelves", exact=True).click()
    expect(admin.locator("#id_can_get")).to_be_checked()
    rule_url = admin.url
    admin.uncheck("#id_can_get")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist .success")).to_be_visible(timeout=TIMEOUT)

    expect(page.locator("#shelves-state")).to_have_attribute("data-state", "revoked", timeout=TIMEOUT)
    expect(page.locator("#shelves .shelf")).to_have_count(0)
    expect(page.locator("#user-name")).to_have_text("bob")  # still signed in: no reload happened

    # Ticked again: the shelves come back on the same page, which holds no subscription to them meanwhile.
    page.evaluate("window.loadedOnce = true")
    admin.goto(rule_url)
    admin.check("#id_can_get")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist .success")).to_be_visible(timeout=TIMEOUT)

    expect(page.locator("#shelves .shelf").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#shelves-state")).to_have_attribute("data-state", "ok")
    expect(page.locator("#user-name")).to_have_text("bob")
    assert page.evaluate("window.loadedOnce") is True  # the same document: no reload
