"""`smschat-bridge doctor`: every check of the set-up, and the few `run` makes at start."""

from __future__ import annotations

import aiohttp

from bridge.app import Bridge, slack_web_client, vonage_client
from bridge.config import Settings
from bridge.domain.checks import Check, passed, skipped
from bridge.slack.checks import channel_checks, slack_checks, token_checks
from bridge.sms.checks import VonageSetup, vonage_checks
from bridge.store.checks import redis_check, store_checks


def inbox_channels(settings: Settings) -> list[str]:
    return list(dict.fromkeys([settings.slack_channel, *settings.number_channels.values()]))


async def all_checks(settings: Settings) -> list[Check]:
    """Slack, Vonage, the database and Redis, as `run` would use them."""
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    async with aiohttp.ClientSession() as session:
        slack = await slack_checks(
            slack_web_client(settings, session), inbox_channels(settings), app_token=app_token
        )
    vonage = vonage_client(settings)
    try:
        setup = VonageSetup(
            numbers=settings.vonage_numbers,
            has_api_key=bool(settings.vonage_api_key and settings.vonage_api_secret),
            application_id=settings.vonage_application_id if settings.uses_messages_api else None,
            public_url=settings.public_url,
        )
        sms = await vonage_checks(vonage, setup)
    finally:
        await vonage.close()
    store = await store_checks(settings.database_url)
    return [*slack, *sms, *store, await redis_check(settings.redis_url), call_check(settings)]


def call_check(settings: Settings) -> Check:
    """Click-to-call needs the Voice API, that is a Vonage application and its key."""
    what = "Click-to-call (Voice API)"
    if not settings.uses_messages_api:
        return skipped(what, "set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY to call contacts")
    if settings.public_url is None:
        return skipped(what, "call events go to the application's event URL; set PUBLIC_URL")
    return passed(f"{what} through application {settings.vonage_application_id}")


async def start_checks(bridge: Bridge) -> list[Check]:
    """The cheap ones (the token, the inbox channels), for `run` to warn of at start."""
    client = bridge.gatekeeper.client
    checks, bot = await token_checks(client)
    if bot is not None:
        channels = sorted(bridge.book.inbox.all_channels)
        checks += await channel_checks(client, channels, bot=bot)
    return [check for check in checks if check.passed is False]
