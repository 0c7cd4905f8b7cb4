"""Background work gives way to webhooks being kept, for a bounded while, and never stops."""

from __future__ import annotations

import asyncio

from bridge.tasks import Foreground


async def assert_goes_on_at_once(foreground: Foreground) -> None:
    step = asyncio.create_task(foreground.give_way())
    done, _ = await asyncio.wait({step}, timeout=1)
    assert step in done, "background work waited with no webhook being kept"


async def test_with_no_webhook_being_kept_background_work_goes_on_at_once() -> None:
    await assert_goes_on_at_once(Foreground(most=30))


async def test_background_work_waits_for_the_webhooks_being_kept() -> None:
    foreground = Foreground(most=30)
    waiting = []
    with foreground.serving(), foreground.serving():
        waiter = asyncio.create_task(foreground.give_way())
        waiter.add_done_callback(lambda _: waiting.append("done"))
        await asyncio.sleep(0.05)
        assert waiting == [], "two webhooks are being kept"
    async with asyncio.timeout(1):
        await waiter


async def test_a_storm_holds_background_work_back_only_so_long() -> None:
    foreground = Foreground(most=0.1)
    loop = asyncio.get_running_loop()
    with foreground.serving():  # a webhook always being kept: a storm
        started = loop.time()
        async with asyncio.timeout(2):
            await foreground.give_way()
        assert loop.time() - started >= 0.1


async def test_a_webhook_that_fails_still_lets_background_work_go_on() -> None:
    foreground = Foreground(most=30)
    try:
        with foreground.serving():
            raise OSError("the store went away")
    except OSError:
        pass
    await assert_goes_on_at_once(foreground)
