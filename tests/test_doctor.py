"""`smschat-bridge doctor` as a new team runs it, against the fakes: one line per check.

Run as a command (`python -m bridge doctor`) with the environment a deployment sets; the
fakes answer as Slack and Vonage do when a token is wrong, a scope is missing, a channel
does not hold the bot, a number belongs to another account or a webhook points elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bridge.fakes import FakeSlack, FakeVonage
from bridge.fakes.process import BridgeProcess
from bridge.store.db import migrate
from tests.bridge_process import REPO_ROOT, AnswerHolder, until
from tests.conftest import INBOX, OUR_NUMBER, REDIS_URL, bridge_env, need_service, reset_postgres

PUBLIC_URL = "https://sms.example.org"
OTHER_NUMBER = "+447700900001"


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "doctor",
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert err.decode().strip() == "", err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines()


def environment(
    slack: FakeSlack, vonage: FakeVonage, ca_bundle: Path, database_url: str, **extra: str
) -> dict[str, str]:
    env = bridge_env(database_url=database_url, slack=slack, vonage=vonage)
    env |= {"SSL_CERT_FILE": str(ca_bundle), "PUBLIC_URL": PUBLIC_URL, "LOG_LEVEL": "WARNING"}
    return env | extra


def set_up_well(vonage: FakeVonage) -> None:
    vonage.account.own(OUR_NUMBER, mo_http_url=f"{PUBLIC_URL}/vonage/inbound")
    vonage.account.dr_callback_url = f"{PUBLIC_URL}/vonage/status"


def bridge_run(
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
    port: int,
    **extra: str,
) -> BridgeProcess:
    """`python -m bridge run` on a new SQLite file, logging at INFO."""
    env = environment(
        fake_slack,
        fake_vonage,
        ca_bundle,
        f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        **extra,
    )
    return BridgeProcess(env, cwd=REPO_ROOT, log_path=tmp_path / "bridge.log")


async def test_a_set_up_that_works_passes_every_check(
    fake_slack: FakeSlack, fake_vonage: FakeVonage, ca_bundle: Path, tmp_path: Path
) -> None:
    need_service(REDIS_URL, 6379, "Redis")
    set_up_well(fake_vonage)
    database = f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"
    await migrate(database)
    env = environment(fake_slack, fake_vonage, ca_bundle, database, REDIS_URL=REDIS_URL)

    code, lines = await doctor(env, tmp_path)

    assert code == 0, lines
    # Without a Vonage application there is no Voice API: click-to-call does not apply.
    calls = "– Click-to-call (Voice API): set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY"
    assert any(line.startswith(calls) for line in lines), lines
    assert all(line.startswith("✓ ") for line in lines if not line.startswith(calls)), lines
    assert any("workspace Fake Workspace" in line for line in lines)
    assert any("balance €" in line for line in lines)
    assert any(
        f"texts to +44 7700 900000 go to {PUBLIC_URL}/vonage/inbound" in line for line in lines
    )


@pytest.mark.postgres
async def test_each_kind_of_problem_is_named_with_what_to_do(
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    await reset_postgres(postgres_url)  # never migrated: its schema is behind
    fake_slack.scopes.remove("reactions:write")
    fake_slack.scopes.remove("files:write")  # files contacts send would not reach threads
    fake_slack.add_channel("C0NOBOT", "sms-cases", bot_is_member=False)
    set_up_well(fake_vonage)
    fake_vonage.account.own(OTHER_NUMBER, mo_http_url="https://old-host.example.org/sms")
    env = environment(
        fake_slack,
        fake_vonage,
        ca_bundle,
        postgres_url,
        VONAGE_NUMBERS=f"{OUR_NUMBER},{OTHER_NUMBER},+447700900002",
        NUMBER_CHANNELS=f"{OTHER_NUMBER}=C0NOBOT,+447700900002=C0MISSING",
        SLACK_APP_TOKEN="xapp-1-A0APP-not-a-real-app-token",
        REDIS_URL="redis://127.0.0.1:1/0",
    )

    code, lines = await doctor(env, tmp_path)
    shown = "\n".join(lines)

    assert code == 1, shown
    expected = [
        "✗ Slack: the token lacks the scopes files:write, reactions:write",
        "✗ Slack: channel C0MISSING cannot be seen (channel_not_found)",
        "✗ Slack: the bot is not in #sms-cases (C0NOBOT): type `/invite @smschat` in #sms-cases",
        "✗ Slack: the app token opens no Socket Mode connection (invalid_auth)",
        "✗ Vonage: +44 7700 900002 is not one of the account's numbers",
        "✗ Vonage: texts to +44 7700 900001 go to https://old-host.example.org/sms: set the "
        f"number's Inbound webhook URL to {PUBLIC_URL}/vonage/inbound",
        "✗ Database: the database schema is at nothing",
        "✗ Redis does not answer",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), f"{start!r} not in\n{shown}"
    assert f"✓ Slack: the bot is in #sms-inbox ({INBOX})" in lines
    assert "run `smschat-bridge migrate`" in shown


async def test_a_wrong_token_and_wrong_credentials_say_where_to_get_the_right_ones(
    fake_slack: FakeSlack, fake_vonage: FakeVonage, ca_bundle: Path, tmp_path: Path
) -> None:
    env = environment(
        fake_slack,
        fake_vonage,
        ca_bundle,
        f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
        SLACK_BOT_TOKEN="xoxb-mistyped-token",
        VONAGE_API_SECRET="not-the-secret",
    )

    code, lines = await doctor(env, tmp_path)

    assert code == 1
    assert lines[0].startswith("✗ Slack refused the bot token (invalid_auth): copy the Bot User")
    assert lines[1].startswith("– Slack: channels and mode")
    assert "✗ Vonage refused the API key and secret: copy the API key and secret" in lines[2]
    assert "SQLite will create" in lines[3]


async def test_run_warns_of_a_channel_without_the_bot_and_starts_anyway(
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
    free_port: int,
) -> None:
    fake_slack.set_members(INBOX, ["U0STAFF"])  # nobody invited the bot
    process = bridge_run(fake_slack, fake_vonage, ca_bundle, tmp_path, free_port)
    try:
        await process.start()  # /healthz answers 200: it runs
    finally:
        await process.stop()
    warnings = [line for line in process.log.splitlines() if " WARNING " in line]
    assert any("type `/invite @smschat` in #sms-inbox" in line for line in warnings), process.log


async def test_a_stop_asked_for_while_starting_ends_the_bridge_cleanly(
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
    free_port: int,
) -> None:
    set_up_well(fake_vonage)
    slack_origin = fake_slack.base_url.removesuffix("/api/")
    # The start-up checks wait for Slack's late answer: SIGTERM comes meanwhile.
    async with AnswerHolder(
        slack_origin, holds=lambda path, _body: path.endswith("/conversations.info"), lose=2.0
    ) as slack:
        slack.armed = True
        process = bridge_run(
            fake_slack,
            fake_vonage,
            ca_bundle,
            tmp_path,
            free_port,
            SLACK_API_URL=f"http://{slack.host}/api/",
        )
        await process.start()
        await until(lambda: bool(slack.held))
        assert await process.stop() == 0, process.log
    assert "stopping" in process.log


async def test_a_clean_start_warns_of_nothing(
    fake_slack: FakeSlack,
    fake_vonage: FakeVonage,
    ca_bundle: Path,
    tmp_path: Path,
    free_port: int,
) -> None:
    process = bridge_run(
        fake_slack,
        fake_vonage,
        ca_bundle,
        tmp_path,
        free_port,
        VONAGE_SIGNATURE_SECRET="a-signature-secret-for-webhooks",
    )
    try:
        await process.start()
    finally:
        assert await process.stop() == 0
    noisy = [line for line in process.log.splitlines() if " WARNING " in line or " ERROR " in line]
    assert noisy == [], process.log
