"""The App Home tab: published when someone opens it, and its buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bridge.routing.cases import read_case
from bridge.routing.home import request_home
from bridge.slack.desk import Desk
from bridge.slack.forwarding import open_forwarding
from bridge.slack.home_blocks import (
    HOME_FORWARDING,
    HOME_NEW_TEXT,
    HOME_OPEN_CASE,
    HOME_REFRESH,
    HOME_RETRY_JOBS,
)
from bridge.slack.new_conversation import new_view
from bridge.slack.payloads import HomeOpened, Interaction, case_of, read

log = logging.getLogger(__name__)


def register_home(app: AsyncApp, *, desk: Desk) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any]) -> None:
        opened = read(HomeOpened, event)
        if opened.tab != "home":
            return  # the Messages tab has nothing of ours
        user = opened.user
        # Events pass no guard: someone who may not see cases gets only the reason.
        refusal = await desk.gatekeeper.refusal(user)
        admin = refusal is None and await desk.is_admin(user)
        async with desk.units.unit() as unit:
            await request_home(unit, user, refusal=refusal, admin=admin)

    @app.action(HOME_OPEN_CASE)
    async def on_open_case(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        pressed = read(Interaction, body)
        user = pressed.user.id
        async with desk.units.unit() as unit:
            case = await unit.cases.get(case_of(pressed.action))
            if case is not None:
                await read_case(unit, case, user, at=desk.clock.now())
            await request_home(unit, user, admin=await desk.is_admin(user))

    @app.action(HOME_REFRESH)
    async def on_refresh(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = read(Interaction, body).user.id
        async with desk.units.unit() as unit:
            await request_home(unit, user, admin=await desk.is_admin(user))

    @app.action(HOME_RETRY_JOBS)
    async def on_retry_jobs(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = read(Interaction, body).user.id
        if not await desk.is_admin(user):
            return  # only an admin's Home shows the button; a stale one does nothing
        revived = await desk.outbox.revive()
        log.info("%s given-up job(s) put back from the Home tab", revived)
        async with desk.units.unit() as unit:
            await request_home(unit, user, admin=True)

    @app.action(HOME_FORWARDING)
    async def on_forwarding(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_forwarding(client, trigger_id=read(Interaction, body).trigger_id, desk=desk)

    @app.action(HOME_NEW_TEXT)
    async def on_new_text(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        trigger_id = read(Interaction, body).trigger_id
        await client.views_open(
            trigger_id=trigger_id, view=new_view(desk.inbox, time_zone=desk.time_zone)
        )
