"""Whether the Slack app is set up as the bridge needs it: token, scopes, channels, mode.

Each check is one Web API call that changes nothing; its failure says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.domain.checks import Check, failed, passed, skipped
from bridge.slack.manifest import bot_scopes

# auth.test errors that mean the token itself is the problem.
# https://docs.slack.dev/reference/methods/auth.test#errors
TOKEN_REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}
TOKEN_FIX = (
    "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page into "
    "SLACK_BOT_TOKEN (reinstall the app if it was uninstalled)"
)


async def token_checks(client: AsyncWebClient) -> tuple[list[Check], str | None]:
    """The token and its scopes; with the bot's user name when the token works."""
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        fix = TOKEN_FIX if error in TOKEN_REFUSED else f"Slack answered {error}"
        return [failed(f"Slack refused the bot token ({error})", fix)], None
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        what = f"Slack did not answer ({type(exc).__name__})"
        return [failed(what, "check the network, or SLACK_API_URL")], None
    team, bot = answer.get("team") or answer.get("team_id"), answer.get("user") or "the bot"
    checks = [passed(f"Slack: the bot token works (workspace {team}, bot @{bot})")]
    headers = {name.lower(): value for name, value in (answer.headers or {}).items()}
    granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",")}
    missing = sorted(bot_scopes() - granted)
    if missing:
        fix = (
            "add them under OAuth & Permissions → Scopes (or update the app from "
            "`smschat-bridge manifest`) and reinstall it"
        )
        checks.append(failed(f"Slack: the token lacks the scopes {', '.join(missing)}", fix))
    else:
        checks.append(passed("Slack: the token has every scope the manifest asks for"))
    return checks, bot


async def channel_checks(
    client: AsyncWebClient, channels: Sequence[str], *, bot: str
) -> list[Check]:
    """Each inbox channel exists and holds the bot."""
    checks = []
    for channel in channels:
        try:
            info = (await client.conversations_info(channel=channel))["channel"]
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            fix = (
                f"check the channel id (the channel's details, About: Channel ID); a "
                f"private channel must invite @{bot} first"
            )
            checks.append(failed(f"Slack: channel {channel} cannot be seen ({error})", fix))
            continue
        name = info.get("name") or channel
        if info.get("is_member"):
            checks.append(passed(f"Slack: the bot is in #{name} ({channel})"))
        else:
            fix = f"type `/invite @{bot}` in #{name}"
            checks.append(failed(f"Slack: the bot is not in #{name} ({channel})", fix))
    return checks


async def mode_check(client: AsyncWebClient, *, app_token: str | None) -> Check:
    """Socket Mode opens a connection with the app token; HTTP mode has its signing secret
    (the settings refuse to start without it)."""
    if app_token is None:
        return passed("Slack: HTTP mode, the signing secret is set")
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        fix = (
            "create an app-level token with the connections:write scope (Basic Information → "
            "App-Level Tokens) and put it in SLACK_APP_TOKEN; enable Socket Mode for the app"
        )
        return failed(f"Slack: the app token opens no Socket Mode connection ({error})", fix)
    return passed("Slack: Socket Mode, the app token opens a connection")


async def slack_checks(
    client: AsyncWebClient, channels: Sequence[str], *, app_token: str | None
) -> list[Check]:
    checks, bot = await token_checks(client)
    if bot is None:
        not_checked = "not checked while the token does not work"
        return [*checks, skipped("Slack: channels and mode", not_checked)]
    return [
        *checks,
        *await channel_checks(client, channels, bot=bot),
        await mode_check(client, app_token=app_token),
    ]
