"""Background work gives way to a storm of webhooks, one step at a time, and never stops;
webhooks at an everyday pace hold nothing back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bridge.domain.events import receipt_event
from bridge.domain.values import DeliveryReceipt, MessageStatus
from bridge.jobs.router import BATCH_UNDER_LOAD, Router
from bridge.routing.chat_settings import SettingsBook
from bridge.settings_rules import chat_rules, chat_settings_defaults
from bridge.store.db import Database
from bridge.store.inbox import InboxWriter, SqlInbox
from bridge.store.unit import Store
from bridge.tasks import Foreground


async def assert_goes_on_at_once(foreground: Foreground) -> None:
    step = asyncio.create_task(foreground.give_way())
    done, _ = await asyncio.wait({step}, timeout=1)
    assert step in done, "background work waited with no storm"
    assert step.result() is False, "there was no storm"


def webhooks_kept(foreground: Foreground, count: int) -> None:
    for _ in range(count):
        with foreground.serving():
            pass


def storm(foreground: Foreground) -> None:
    webhooks_kept(foreground, 8)


async def test_with_no_webhook_coming_background_work_goes_on_at_once() -> None:
    await assert_goes_on_at_once(Foreground(spacing=30))


async def test_webhooks_at_an_everyday_pace_hold_nothing_back() -> None:
    foreground = Foreground(burst=8, quiet=0.05, spacing=30)
    for _ in range(7):  # a busy moment, one short of a storm
        webhooks_kept(foreground, 1)
        await assert_goes_on_at_once(foreground)
    await asyncio.sleep(0.06)
    webhooks_kept(foreground, 1)  # the eighth, once the first are older than `quiet`
    await assert_goes_on_at_once(foreground)


async def test_background_work_waits_while_a_webhook_is_being_kept() -> None:
    foreground = Foreground(spacing=30)
    with foreground.serving():
        assert await foreground.give_way() is True  # the first turn is now
        waiting = asyncio.create_task(foreground.give_way())
        await asyncio.sleep(0.05)
        assert not waiting.done(), "a webhook is being kept and the next turn is 30 s away"
    async with asyncio.timeout(1):
        assert await waiting is False


async def test_in_a_storm_background_steps_go_one_at_a_time() -> None:
    spacing = 0.05
    foreground = Foreground(quiet=10, spacing=spacing)  # a storm that lasts the test
    storm(foreground)
    loop = asyncio.get_running_loop()
    went_after: list[float] = []

    async def step() -> None:
        assert await foreground.give_way() is True, "the storm still lasts"
        went_after.append(loop.time() - started)

    started = loop.time()
    async with asyncio.timeout(5):
        await asyncio.gather(*(step() for _ in range(4)))
    # The k-th step's turn came k spacings after the first (a loop's timer may ring up to
    # its clock's resolution early: a millisecond is room enough).
    assert len(went_after) == 4
    assert all(after >= k * spacing - 0.001 for k, after in enumerate(sorted(went_after)))


async def test_background_work_goes_on_as_soon_as_the_storm_ends() -> None:
    foreground = Foreground(quiet=0.2, spacing=30)
    storm(foreground)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await foreground.give_way() is True  # the first step in a storm goes at once
    waiting = asyncio.create_task(foreground.give_way())  # the next's turn is 30 s away
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the storm lasts 0.2 s after its last webhook"
    async with asyncio.timeout(2):
        assert await waiting is False
    assert loop.time() - started >= 0.19


async def test_a_webhook_that_fails_still_lets_background_work_go_on() -> None:
    foreground = Foreground(spacing=30)
    try:
        with foreground.serving():
            raise OSError("the store went away")
    except OSError:
        pass
    await assert_goes_on_at_once(foreground)


async def test_under_load_the_router_routes_one_event_per_transaction(
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
    waiting = BATCH_UNDER_LOAD + 4
    for number in range(waiting):
        # Receipts for sends this store never made: routed by being kept for later.
        receipt = DeliveryReceipt(f"unknown-{number}", MessageStatus.DELIVERED)
        await intake.keep(receipt_event(receipt, at=datetime.now(UTC)))
    router = Router(store, book, store.clock, batch=100)

    under_load = await router.route_some(under_load=True)
    assert (under_load.events, under_load.more) == (BATCH_UNDER_LOAD, True)
    rest = await router.route_some()
    assert rest.events == waiting - BATCH_UNDER_LOAD
    async with db.reading() as session:
        assert await SqlInbox(session).pending() == 0
