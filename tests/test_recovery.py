"""A first misconfiguration leaves nothing stuck: the fix is enough, or a retry is.

A bot not yet invited, a token mistyped: Slack refuses with not_in_channel or
invalid_auth. Jobs refused so wait (and admins are told once) instead of dying; once the
fault is fixed the header goes up and the texts waiting for it follow, in order. A job
given up for good is announced, listed by `jobs list --dead`, and put back by `jobs retry`
or the Retry button on an admin's Home tab.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bridge.fakes.reading import thread_lines
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.dispatcher import RetryPolicy
from tests.bridge_process import REPO_ROOT, until
from tests.conftest import ADMIN, INBOX, OUR_NUMBER, STAFF, LiveBridge

CONTACT = "447400123456"
GAVE_UP = "A message for this case could not be shown here"
# Quick to try again, and patient with what a person can fix.
PATIENT = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, fixable_delay=0.2)
IMPATIENT = RetryPolicy(
    max_attempts=2, base_delay=0.05, max_delay=0.1, fixable_delay=0.1, fixable_patience=0.5
)


async def text_in(live: LiveBridge, text: str, message_id: str) -> None:
    params = sms_inbound_params(
        msisdn=CONTACT, to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )
    assert (await live.vonage_webhook("/vonage/inbound", params)).status == 200


def thread_texts(live: LiveBridge) -> list[str]:
    [header] = live.slack.messages(INBOX)
    return thread_lines(live.slack.thread(INBOX, header["ts"]))


def direct_messages(live: LiveBridge, user: str) -> list[str]:
    channel = "D" + user.lstrip("UW")
    return (
        [m["text"] for m in live.slack.messages(channel)] if channel in live.slack.channels else []
    )


async def dead_jobs(live: LiveBridge) -> int:
    return await live.bridge.outbox.dead_count()


async def test_texts_wait_for_the_bot_to_be_invited_then_follow_in_order(start_live) -> None:
    live = await start_live(retry_policy=PATIENT)
    live.slack.set_members(INBOX, [STAFF])  # nobody invited the bot yet
    await text_in(live, "First", "R1")
    await text_in(live, "Second", "R2")
    await live.slack.wait_until(
        lambda: any(c.error == "not_in_channel" for c in live.slack.calls("chat.postMessage")),
        what="a refused header",
    )
    await until(lambda: direct_messages(live, ADMIN), within=10)
    [notice] = direct_messages(live, ADMIN)
    assert "not_in_channel" in notice and "/invite" in notice

    live.slack.set_members(INBOX, [STAFF, live.slack.bot_user_id])  # the fix
    await until(lambda: live.slack.messages(INBOX) and len(thread_texts(live)) == 2, within=10)
    await live.drained()
    assert thread_texts(live) == ["First", "Second"]
    assert await dead_jobs(live) == 0
    assert len(direct_messages(live, ADMIN)) == 1  # told once, not once per job


async def test_a_mistyped_token_replaced_lets_the_waiting_work_through(start_live) -> None:
    live = await start_live(retry_policy=PATIENT)
    good = set(live.slack.tokens)
    live.slack.tokens = {"xoxb-some-other-token"}  # what the bridge holds is refused
    await text_in(live, "Hello?", "T1")
    await live.slack.wait_until(
        lambda: any(c.error == "invalid_auth" for c in live.slack.calls("chat.postMessage")),
        what="a refused token",
    )
    live.slack.tokens = good  # the token is fixed
    await until(lambda: live.slack.messages(INBOX) and thread_texts(live) == ["Hello?"], within=10)
    await live.drained()
    assert await dead_jobs(live) == 0


async def test_a_header_given_up_is_posted_by_the_next_job_of_its_case(start_live) -> None:
    live = await start_live(retry_policy=IMPATIENT)
    live.slack.set_members(INBOX, [STAFF])
    await text_in(live, "Lost at first", "G1")
    await until(_dead(live, 2), within=10)  # the header, and the text behind it
    await until(lambda: any("gave up" in t for t in direct_messages(live, ADMIN)), within=10)

    live.slack.set_members(INBOX, [STAFF, live.slack.bot_user_id])
    await text_in(live, "Anyone there?", "G2")
    await until(lambda: live.slack.messages(INBOX) and "Anyone there?" in thread_texts(live))
    await live.drained()
    assert len(live.slack.messages(INBOX)) == 1  # one header, posted by the text's job
    # It shows every text still waiting to be shown, the one whose post gave up first.
    assert [t for t in thread_texts(live) if not t.startswith(GAVE_UP)][:2] == [
        "Lost at first",
        "Anyone there?",
    ]

    revived = await cli("jobs", "retry", "--dead", env=live)
    assert revived == (0, "smschat-bridge: 2 job(s) put back")
    await until(lambda: "Lost at first" in thread_texts(live))
    await live.drained()
    assert len(live.slack.messages(INBOX)) == 1
    shown = thread_texts(live)
    assert [text for text in shown if not text.startswith(GAVE_UP)] == [
        "Lost at first",
        "Anyone there?",
    ]  # the revived job found its text shown already
    assert sum(text.startswith(GAVE_UP) for text in shown) == 1  # said once, in the thread
    assert await dead_jobs(live) == 0


async def test_jobs_list_names_kinds_and_cases_not_contents(start_live) -> None:
    live = await start_live(retry_policy=IMPATIENT)
    live.slack.set_members(INBOX, [STAFF])
    await text_in(live, "Private words here", "P1")
    await until(_dead(live, 2), within=10)

    code, listed = await cli("jobs", "list", "--dead", env=live)

    assert code == 0
    lines = listed.splitlines()
    assert lines[0].split()[:5] == ["id", "status", "kind", "case", "tries"]
    assert any("slack.post_header" in line and "#1" in line for line in lines[1:])
    assert any("slack.post_message" in line and "not_in_channel" in line for line in lines[1:])
    assert "Private words" not in listed and CONTACT not in listed


async def test_an_admin_sees_the_given_up_jobs_on_the_home_tab_and_retries_them(
    start_live,
) -> None:
    live = await start_live(retry_policy=IMPATIENT)
    live.slack.set_members(INBOX, [STAFF])
    await text_in(live, "Waiting here", "H1")
    await until(_dead(live, 2), within=10)
    live.slack.set_members(INBOX, [STAFF, live.slack.bot_user_id])

    staff_home = await live.open_home(STAFF)
    assert "given up" not in str(staff_home)  # not an admin: no such button
    home = await live.open_home(ADMIN)
    assert "*2 job(s) were given up*" in str(home)

    response = await live.press_in_view(home, "home_retry_jobs", "dead", user=ADMIN)
    assert response.status == 200
    await until(lambda: live.slack.messages(INBOX) and "Waiting here" in thread_texts(live))
    await live.drained()
    assert await dead_jobs(live) == 0
    assert [t for t in thread_texts(live) if not t.startswith(GAVE_UP)] == ["Waiting here"]


def _dead(live: LiveBridge, count: int):
    async def check() -> bool:
        return await dead_jobs(live) >= count

    return check


async def cli(*args: str, env: LiveBridge) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        *args,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO_ROOT),
            "DATABASE_URL": env.bridge.settings.database_url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode().strip()
