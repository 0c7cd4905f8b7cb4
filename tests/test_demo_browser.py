"""The demo page in a real headless Chromium: a text from the phone, a reply from the
inbox, the case closed with its header's button.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` package; it never runs
`playwright install`. Skips without them, unless BRIDGE_REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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


async def test_a_text_from_the_phone_and_a_reply_from_the_inbox(demo: Demo, tmp_path: Path) -> None:
    screenshot = Path(SCREENSHOT_TO) if SCREENSHOT_TO else tmp_path / "demo.png"
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(demo.url)

            # The example is there and the stream is live.
            await expect(page.locator("#live")).to_have_text("live")
            alice = page.locator(".case", has_text="Alice Moreau – Mobile")
            await expect(alice.locator(".replies .msg.via-sms")).to_have_count(2)

            # Bruno texts from the phone; a case opens in the inbox with his text in its thread.
            await page.select_option("#contact-select", label="Bruno Costa · +44 7400 900456")
            await page.fill("#phone-text", "Hello, can I move my appointment to Friday?")
            await page.click("#phone-send")
            sent = page.locator("#phone-feed .bubble.sent", has_text="move my appointment")
            await expect(sent.locator(".state")).to_have_text("Sent")
            case = page.locator(".case", has_text="+44 7400 900456")
            await expect(case.locator(".bk-header")).to_have_text("#2 · +44 7400 900456")
            await expect(case.locator(".bk-fields")).to_contain_text("open")
            contact_text = case.locator(".replies .msg.via-sms")
            await expect(contact_text.locator(".author")).to_have_text("SMS Chat")
            await expect(contact_text.locator(".msg-content")).to_have_text(
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
        finally:
            await browser.close()
    assert 10_000 < screenshot.stat().st_size < 400_000
