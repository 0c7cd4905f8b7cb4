"""Background work gives way to webhooks that keep coming, one step at a time, and never
stops; a lone webhook holds nothing back."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from bridge.domain.events import receipt_event
from bridge.domain.values import DeliveryReceipt, MessageStatus
from bridge.jobs.router import BatchSizes, Router
from bridge.routing.chat_settings import SettingsBook
from bridge.settings_rules import chat_rules, chat_settings_defaults
from bridge.store.db import Database
from bridge.store.inbox import InboxWriter, SqlInbox
from bridge.store.unit import Store
from bridge.tasks import Foreground


async def assert_goes_on_at_once(foreground: Foreground) -> None:
    step = asyncio.create_task(foreground.give_way())
    done, _ = await asyncio.wait({step}, timeout=1)
    assert step in done, "background work waited with no webhooks coming"
    assert step.result() is False, "no webhooks were coming"


async def test_with_no_webhook_coming_background_work_goes_on_at_once() -> None:
    await assert_goes_on_at_once(Foreground(spacing=30))


async def test_a_lone_webhook_once_answered_holds_nothing_back() -> None:
    foreground = Foreground(spacing=30)
    with foreground.serving():
        pass
    await assert_goes_on_at_once(foreground)


async def test_while_webhooks_keep_coming_background_steps_go_one_at_a_time() -> None:
    spacing = 0.05
    foreground = Foreground(spacing=spacing)
    loop = asyncio.get_running_loop()
    went_at: list[float] = []

    async def step() -> None:
        assert await foreground.give_way() is True, "webhooks were still coming"
        went_at.append(loop.time())

    with foreground.serving():  # a webhook always being kept: a storm
        async with asyncio.timeout(5):
            await asyncio.gather(*(step() for _ in range(4)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(went_at)]
    assert len(went_at) == 4
    assert all(gap >= spacing * 0.99 for gap in gaps), gaps


async def test_background_work_goes_on_as_soon_as_the_webhooks_stop() -> None:
    foreground = Foreground(spacing=30)
    with foreground.serving():
        first = await foreground.give_way()  # the first step under load goes at once
        second = asyncio.create_task(foreground.give_way())  # the next waits 30 s for its turn
        await asyncio.sleep(0.05)
        assert not second.done(), "a webhook is being kept and the turn is 30 s away"
    async with asyncio.timeout(1):
        assert await second is False
    assert first is True


async def test_two_webhooks_close_together_hold_background_work_back_until_a_quiet_moment() -> None:
    foreground = Foreground(quiet=0.2, spacing=30)
    loop = asyncio.get_running_loop()
    for _ in range(2):
        with foreground.serving():
            pass
    started = loop.time()
    assert await foreground.give_way() is True  # the first turn is now
    async with asyncio.timeout(2):
        assert await foreground.give_way() is False  # the second ends at the quiet moment
    assert loop.time() - started >= 0.19


async def test_a_webhook_that_fails_still_lets_background_work_go_on() -> None:
    foreground = Foreground(spacing=30)
    try:
        with foreground.serving():
            raise OSError("the store went away")
    except OSError:
        pass
    await assert_goes_on_at_once(foreground)


async def test_under_load_the_router_routes_a_few_events_per_transaction(
    db: Database, make_settings
) -> None:
    settings = make_settings()
    store = Store(db)
    book = SettingsBook(
        store,
        clock=store.clock,
        defaults=chat_settings_defaults(settings),
        base_rules=chat_rules(settings),
        numbers=settings.vonage_numbers,
        default_channel=settings.slack_channel,
    )
    intake = InboxWriter(db)
    sizes = BatchSizes(usual=100, under_load=3)
    waiting = sizes.under_load + 4
    for number in range(waiting):
        # Receipts for sends this store never made: routed by being kept for later.
        receipt = DeliveryReceipt(f"unknown-{number}", MessageStatus.DELIVERED)
        await intake.keep(receipt_event(receipt, at=datetime.now(UTC)))
    router = Router(store, book, store.clock, batch=sizes)

    under_load = await router.route_some(under_load=True)
    assert (under_load.events, under_load.more) == (sizes.under_load, True)
    rest = await router.route_some()
    assert rest.events == waiting - sizes.under_load
    async with db.reading() as session:
        assert await SqlInbox(session).pending() == 0
