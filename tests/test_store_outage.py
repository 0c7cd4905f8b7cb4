"""The database lost while the bridge runs: a webhook it cannot keep is answered 503, so the
sender tries it again, and that retry is kept once the database is back.

The bridge reaches the real PostgreSQL server through a TCP proxy the test can cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, make_url, select

from bridge.fakes.reading import thread_lines
from bridge.fakes.vonage_payloads import sms_inbound_params
from bridge.store.models import Message
from tests.conftest import INBOX, OUR_NUMBER
from tests.proxy import CuttableProxy

DEFERRED = ("smschat_webhooks_deferred_total", ())

# The server, not a SQLite file, is what a network can lose.
pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[CuttableProxy]:
    url = make_url(database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    yield proxy
    await proxy.cut()


def text_in(text: str, message_id: str) -> dict[str, str]:
    return sms_inbound_params(
        msisdn="447700900555", to=OUR_NUMBER.removeprefix("+"), text=text, message_id=message_id
    )


async def test_a_webhook_the_store_cannot_keep_is_answered_503_and_kept_when_retried(
    proxy: CuttableProxy, start_live, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    live = await start_live(DATABASE_URL=through_proxy.render_as_string(hide_password=False))
    assert (await live.vonage_webhook("/vonage/inbound", text_in("Before", "0E01"))).status == 200
    await live.drained()

    await proxy.cut()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        async with live.http.post(
            f"{live.url}/vonage/inbound", data=text_in("During", "0E02")
        ) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "5"
            assert "try again later" in (await response.json())["error"]
    assert (await live.scrape())[DEFERRED] == 1, "the count is there while the store is away"
    answered = [r for r in caplog.records if "answered 503 to POST /vonage/inbound" in r.message]
    assert len(answered) == 1, [r.message for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info], "an outage is logged without a trace"

    await proxy.open()  # the same port: the bridge's settings still point at it
    # As Vonage does, the webhook comes again until it is answered 200.
    deferred = 1
    async with asyncio.timeout(10):
        retry = text_in("During", "0E02")
        while (status := (await live.vonage_webhook("/vonage/inbound", retry)).status) != 200:
            assert status == 503, status
            deferred += 1
            await asyncio.sleep(0.1)
    await live.drained()
    thread = live.slack.thread(INBOX, live.slack.messages(INBOX)[0]["ts"])
    assert thread_lines(thread)[-2:] == ["Before", "During"], thread_lines(thread)
    async with live.bridge.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 2
    assert (await live.scrape())[DEFERRED] == deferred
