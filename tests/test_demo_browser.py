"""The demo page in a real headless Chromium: a text from the phone, a reply from the
inbox, the case closed with its header's button.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` package; it never runs
`playwright install`. Skips without them, unless BRIDGE_REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.phones import sample_picture
from bridge.sandbox.server import Demo, DemoOptions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The screenshot goes to the test's own directory, so the checkout stays clean; refresh
# docs/demo.png on purpose with DEMO_SCREENSHOT=docs/demo.png pytest tests/test_demo_browser.py
SCREENSHOT_TO = os.environ.get("DEMO_SCREENSHOT")
# Refresh the tour's (and the media and mail tests') screenshots in docs/ on purpose:
# DEMO_TOUR_SCREENSHOTS=docs/screenshots
TOUR_SCREENSHOTS_TO = os.environ.get("DEMO_TOUR_SCREENSHOTS")
TIMEOUT_MS = 15_000


def _browser_missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture
def browser_ready() -> None:
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("BRIDGE_REQUIRE_SERVICES") == "1":
        pytest.fail(
            f"{missing}, and BRIDGE_REQUIRE_SERVICES=1 requires the browser test", pytrace=False
        )
    pytest.skip(missing)


@pytest.fixture
async def demo(browser_ready: None) -> AsyncIterator[Demo]:
    running = Demo(DemoOptions(port=0))  # with the example, as a visitor first sees it
    await running.start()
    yield running
    await running.close()


@contextlib.asynccontextmanager
async def demo_page(demo: Demo, *, width: int, height: int) -> AsyncIterator[tuple[Any, list[str]]]:
    """The demo's page in headless Chromium, and the script errors it raises."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(demo.url)
            yield page, errors
        finally:
            await browser.close()


async def test_a_text_from_the_phone_and_a_reply_from_the_inbox(demo: Demo, tmp_path: Path) -> None:
    screenshot = Path(SCREENSHOT_TO) if SCREENSHOT_TO else tmp_path / "demo.png"
    from playwright.async_api import expect

    async with demo_page(demo, width=1280, height=760) as (page, errors):
        # The example is there and the stream is live; the tour is put aside.
        await expect(page.locator("#live")).to_have_text("live")
        await page.click("#tour-close")
        alice = page.locator(".case", has_text="Alice Moreau – Mobile")
        # Her first text is in the case's header post, her second a reply of its own.
        await expect(alice.locator(".msg.via-sms")).to_have_count(2)

        # Bruno texts from the phone; a case opens in the inbox with his text in its thread.
        await page.select_option("#contact-select", label="Bruno Costa · +44 7400 900456")
        await page.fill("#phone-text", "Hello, can I move my appointment to Friday?")
        await page.click("#phone-send")
        sent = page.locator("#phone-feed .bubble.sent", has_text="move my appointment")
        await expect(sent.locator(".state")).to_have_text("Sent")
        case = page.locator(".case", has_text="+44 7400 900456")
        await expect(case.locator(".bk-header")).to_have_text("#2 · +44 7400 900456")
        await expect(case.locator(".bk-fields")).to_contain_text("open")
        contact_text = case.locator(".msg.via-sms")  # the header, showing the text
        await expect(contact_text.locator(".author")).to_have_text("SMS Chat")
        await expect(contact_text.locator(".msg-content")).to_contain_text(
            "Hello, can I move my appointment to Friday?"
        )

        # Sam replies in the thread; the phone receives it and its receipt says delivered.
        await case.locator(".thread-input").fill("Sure *Bruno*, Friday at 3pm & see you then")
        await case.locator(".thread-input").press("Enter")
        await expect(case.locator(".replies .msg", has_text="Sam Rivera")).to_contain_text(
            "Sure Bruno, Friday at 3pm & see you then"
        )
        received = page.locator("#phone-feed .bubble.received")
        await expect(received).to_have_count(1)
        await expect(received.locator(".bubble-text")).to_have_text(
            re.compile(r"^Sure Bruno, Friday at 3pm & see you then( \(#2\))?$")
        )
        await expect(received.locator(".state")).to_have_text("Delivered ✓")
        await expect(case.locator(".reaction")).to_contain_text("✅")

        await page.screenshot(path=str(screenshot))

        # Sam closes the case from its header; the header and the thread say so.
        await case.locator(".bk-button", has_text="Close").click()
        await expect(case.locator(".bk-fields")).to_contain_text("closed")
        await expect(case.locator(".bk-button", has_text="Reopen")).to_be_visible()
        await expect(case.locator(".replies")).to_contain_text("Case closed by")
        assert errors == []
    assert 10_000 < screenshot.stat().st_size < 400_000


def shots_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: docs/screenshots on purpose, the test's own directory
    otherwise."""
    return Path(TOUR_SCREENSHOTS_TO) if TOUR_SCREENSHOTS_TO else tmp_path


async def test_files_staff_share_show_in_the_thread_and_on_the_phone(
    demo: Demo, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    async with demo_page(demo, width=1400, height=1000) as (page, errors):
        await expect(page.locator("#live")).to_have_text("live")
        await page.click("#tour-close")
        alice = page.locator(".case", has_text="Alice Moreau – Mobile")
        # Sam shares a map with a line of text, then a leaflet, from the thread's 📎.
        shares = [
            ("map.png", "image/png", sample_picture()),
            ("leaflet.pdf", "application/pdf", PDF),
        ]
        for (name, mimetype, data), text in zip(shares, ["Here is the map", ""], strict=True):
            await alice.locator(".thread-input").fill(text)
            files = {"name": name, "mimeType": mimetype, "buffer": data}
            await alice.locator(".thread-file").set_input_files(files)
            await expect(alice.locator(".thread-input")).to_have_value("")
        await expect(alice.locator(".replies img.msg-file")).to_have_count(1)
        await expect(alice.locator(".replies .file-chip")).to_have_text("📄 leaflet.pdf")

        # Her phone shows the picture (fetched from the bridge's link) and links the leaflet.
        bubble = page.locator("#phone-feed .bubble.received", has=page.locator("img"))
        picture = bubble.locator("img.bubble-picture")
        await expect(picture).to_have_count(1)
        assert await picture.evaluate("img => img.complete && img.naturalWidth") == 320
        await expect(bubble.locator(".bubble-text")).to_contain_text("Here is the map")
        leaflet = page.locator("#phone-feed .bubble.received .bubble-file")
        await expect(leaflet).to_have_text(re.compile(r"^📎 PDF file · \d+ B$"))
        await expect(bubble.locator(".state")).to_have_text("Delivered ✓")
        await page.screenshot(path=str(shots_dir(tmp_path) / "media-outbound-picture.png"))
        assert errors == []


async def test_an_email_from_the_mail_client_and_the_reply_in_its_inbox(
    demo: Demo, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    async with demo_page(demo, width=1400, height=1000) as (page, errors):
        await expect(page.locator("#live")).to_have_text("live")
        await page.click("#tour-close")
        # Chen writes to the clinic's address from the mail client beside the phone.
        await page.click(".device-tab[data-device='mail']")
        await page.select_option("#mailbox-select", label="Chen Wei · chen.wei@example.com")
        await page.fill("#mail-subject", "Portal password")
        await page.fill("#mail-text", "I cannot sign in to the patient portal.")
        await page.click("#mail-send")
        sent = page.locator("#mail-feed .mail-item.sent")
        await expect(sent.locator(".state")).to_have_text("Sent")
        case = page.locator(".case", has_text="I cannot sign in to the patient portal.")
        await expect(case.locator(".msg.via-sms")).to_contain_text("✉️ Subject: Portal password")

        # Sam answers in the thread; the answer reaches Chen's inbox by email.
        await case.locator(".thread-input").fill("We have reset it: check your email.")
        await case.locator(".thread-input").press("Enter")
        reply = page.locator("#mail-feed .mail-item.received")
        await expect(reply.locator(".mail-from")).to_have_text(
            "Demo Clinic <help@clinic.example.org>"
        )
        await expect(reply.locator(".mail-subject")).to_have_text("Re: Portal password")
        await expect(reply.locator(".mail-body")).to_contain_text("We have reset it")

        # Chen answers the reply: it joins the same thread, threaded by its headers.
        await reply.locator(".mail-reply").click()
        await expect(page.locator("#mail-subject")).to_have_value("Re: Portal password")
        await page.fill("#mail-text", "It works now, thank you!")
        await page.click("#mail-send")
        await expect(case.locator(".replies")).to_contain_text("It works now, thank you!")
        await expect(page.locator(".case")).to_have_count(2)  # Alice's, and this one
        await page.screenshot(path=str(shots_dir(tmp_path) / "email-sandbox.png"))
        assert errors == []


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# Each tour step: what must show once "Show me" has done it (a locator and its text).
TOUR_CHECKS = [
    ("A text comes in", ".case .bk-header", "#2 · +44 7400 900456"),
    ("Reply from the thread", "#phone-feed .bubble.received .state", "Delivered ✓"),
    ("A staff note", ".msg.staff-note", "he prefers afternoons"),
    ("Close, and a new case", ".case .bk-header", "#3 · +44 7400 900456"),
    ("#ref: which case a text joins", ".case .bk-header", "#4 · +44 7400 900456"),
    ("Assign", ".notice.command", "assigned to"),
    ("Forward after hours", "#dm-feed", "Locked out of the portal"),
    ("Chat settings", "#modal-title", "Chat settings"),
    ("Search", ".notice.command", "#3"),
    ("Usage", ".notice.command", "SMS usage"),
    ("Export the log", ".tour-result", "messages"),
    ("Email in the same threads", "#mail-feed .mail-item.received", "reset link"),
]


async def test_the_guided_tour_shows_each_part_of_the_product(demo: Demo, tmp_path: Path) -> None:
    from playwright.async_api import expect

    shots = shots_dir(tmp_path)
    async with demo_page(demo, width=1400, height=1000) as (page, errors):
        await expect(page.locator("body[data-ready='1']")).to_have_count(1)
        tour = page.locator("#tour")
        await expect(tour).to_be_visible()
        for number, (title, where, shown) in enumerate(TOUR_CHECKS, start=1):
            await expect(page.locator("#tour-title")).to_have_text(title)
            await page.click("#tour-do")
            await expect(tour).to_have_attribute("data-done", str(number))
            await expect(page.locator(where).filter(has_text=shown).first).to_be_visible()
            await expect(page.locator(".bk-unknown")).to_have_count(0)
            name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            await page.screenshot(path=str(shots / f"sandbox-tour-{number:02d}-{name}.png"))
            if await page.locator("#modal").is_visible():
                await page.click("#modal-cancel")
            await page.click("#tour-next")
        await expect(tour).to_be_hidden()

        # Every element type the bridge sent is one the page draws.
        draws = await page.evaluate("window.SANDBOX_DRAWS")
        blocks, elements = _kinds_sent(demo)
        assert blocks <= set(draws["blocks"]), blocks - set(draws["blocks"])
        assert elements <= set(draws["elements"]), elements - set(draws["elements"])
        assert {"checkboxes", "timepicker", "multi_users_select"} <= elements

        # A guest is refused without seeing contact data; a member is no admin.
        await page.select_option("#me-select", "U0GUS")
        await expect(page.locator("#me-select")).to_have_value("U0GUS")
        await page.fill("#composer-text", "/smschat list")
        await page.press("#composer-text", "Enter")
        await expect(page.locator(".notice.command").last).to_contain_text("guests cannot")
        await page.select_option("#me-select", "U0DANA")
        await page.click("#dms-open")
        await expect(page.locator("#dm-feed")).to_contain_text("assigned SMS case #3 to you")
        # A thread link in a DM opens the thread in the page.
        await page.locator("#dm-feed a").first.click()
        await expect(page.locator("#channel-pane")).to_be_visible()
        await expect(page.locator(".case.highlight")).to_have_count(1)
        await page.click("#home-open")
        await expect(page.locator("#home-body .bk-button").first).to_be_visible()
        assert errors == []


def _kinds_sent(demo: Demo) -> tuple[set[str], set[str]]:
    """The block and element types in every message and view the bridge sent the fake."""
    blocks: set[str] = set()
    elements: set[str] = set()
    for call in demo.sandbox.slack.calls():
        params = call.params
        sent = params.get("blocks") or (params.get("view") or {})
        if isinstance(sent, str):
            sent = json.loads(sent)
        for block in sent.get("blocks", []) if isinstance(sent, dict) else sent:
            blocks.add(block["type"])
            inner = [block.get("accessory"), block.get("element"), *block.get("elements", [])]
            elements |= {e["type"] for e in inner if e and e.get("type") not in TEXT_OBJECTS}
    return blocks, elements


TEXT_OBJECTS = ("plain_text", "mrkdwn")
