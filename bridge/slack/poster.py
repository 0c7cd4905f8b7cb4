"""Calls to the Slack Web API for the outbox, with Slack's errors sorted into retryable or not."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import texts
from bridge.domain.broadcasts import BroadcastView
from bridge.domain.numbers import format_number
from bridge.domain.values import (
    ChannelId,
    Offer,
    PostedMessage,
    Posting,
    SlackTs,
    UserId,
)
from bridge.domain.views import CaseView, ForwardedText, HomeView, ShownText
from bridge.errors import SendError
from bridge.slack.blocks import header_blocks, header_text, offer_blocks, texts_blocks
from bridge.slack.broadcast_blocks import broadcast_blocks, broadcast_text
from bridge.slack.home_blocks import home_tab
from bridge.slack.marks import (
    BROADCAST_EVENT_TYPE,
    HEADER_EVENT_TYPE,
    POSTING_EVENT_TYPE,
    FindsMarkedPosts,
    mark,
)
from bridge.slack.mrkdwn import escape_for_slack, mentioned_user_ids, slack_to_plain
from bridge.store.coordination import LocalPauses, LocalRateLimiter, Pauses, RateLimiter

log = logging.getLogger(__name__)

# Errors that say the request itself is wrong or not allowed: retrying cannot fix them.
# https://api.slack.com/methods/chat.postMessage#errors
_PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "not_authed",
    "missing_scope",
    "restricted_action",
    "invalid_blocks",
    "message_not_found",
    "cant_update_message",
    "user_not_found",
    "user_not_in_channel",
    "thread_not_found",
    "invalid_arguments",
}
# Of those, the ones a person can fix (a new token, an invitation to the channel): the job
# waits for that instead of being given up at once.
FIXABLE_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "not_in_channel",
    "channel_not_found",
    "missing_scope",
}
# Already in the state we wanted: treat as done.
_ALREADY_DONE = {"already_reacted", "no_reaction"}
# Who the workspace's admins are is asked again after this long.
ADMINS_TTL_SECONDS = 600


# Slack limits each Web API method on its own, per workspace and app: a 429 for an edit says
# nothing of posting (https://docs.slack.dev/apis/web-api/rate-limits). Posts wait out a
# channel's Retry-After; every other call waits out its method's, so a header redraw that
# was refused never holds a text back.
def method_gate(method: str) -> str:
    return f"slack-method:{method}"


EDITS = method_gate("chat.update")

# The channel whose posting budget the running job already waited for (`SlackPoster.turn`).
_reserved: contextvars.ContextVar[str | None] = contextvars.ContextVar("reserved", default=None)


class SlackPoster(FindsMarkedPosts):
    """Implements `ChatPoster` and `ReplyRenderer` over an AsyncWebClient."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        pauses: Pauses | None = None,
        limiter: RateLimiter | None = None,
        posts_per_second: float = 1.0,
        post_burst: int = 3,
    ) -> None:
        self.client = client
        self.pauses = pauses or LocalPauses()
        self.limiter = limiter or LocalRateLimiter()
        self.posts_per_second = posts_per_second
        self.post_burst = post_burst
        self._names: dict[str, str] = {}
        self._admins: tuple[float, list[UserId]] | None = None

    async def call(
        self, gate_key: str, call: Callable[..., Awaitable[Any]], /, **kwargs: Any
    ) -> Any:
        """Call Slack unless `gate_key` (a channel, or a method: `method_gate`) is waiting out
        a rate limit."""
        waiting = await self.pauses.remaining(gate_key)
        if waiting > 0:
            raise SendError(
                f"Slack asked to slow down in {gate_key}", retryable=True, retry_after=waiting
            )
        try:
            return await call(**kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            if exc.response.status_code == 429:
                wait = float(exc.response.headers.get("Retry-After", 1))
                await self.pauses.pause(gate_key, wait)
                raise SendError("Slack rate limit", retryable=True, retry_after=wait) from None
            if error in _ALREADY_DONE:
                return None
            raise SendError(
                f"Slack answered {error}",
                retryable=error not in _PERMANENT_ERRORS,
                code=error,
                fixable=error in FIXABLE_ERRORS,
            ) from None
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # No answer: the call may have had its effect. The job looks before it retries.
            raise SendError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None

    async def post_header(self, channel: ChannelId, view: CaseView) -> PostedMessage:
        shown = [text.message_id for text in view.texts]
        response = await self._post(
            channel,
            text=header_text(view),
            blocks=header_blocks(view),
            unfurl_links=False,
            unfurl_media=False,
            metadata=mark(HEADER_EVENT_TYPE, Posting(view.case_id, tuple(shown))),
        )
        return PostedMessage(ChannelId(response["channel"]), SlackTs(response["ts"]))

    async def update_header(self, channel: ChannelId, ts: SlackTs, view: CaseView) -> None:
        await self.edit(channel, ts, text=header_text(view), blocks=header_blocks(view))

    async def post_broadcast(self, channel: ChannelId, view: BroadcastView) -> PostedMessage:
        response = await self._post(
            channel,
            text=broadcast_text(view),
            blocks=broadcast_blocks(view),
            unfurl_links=False,
            metadata={
                "event_type": BROADCAST_EVENT_TYPE,
                "event_payload": {"broadcast_id": view.broadcast.id},
            },
        )
        return PostedMessage(ChannelId(response["channel"]), SlackTs(response["ts"]))

    async def update_broadcast(self, channel: ChannelId, ts: SlackTs, view: BroadcastView) -> None:
        await self.edit(channel, ts, text=broadcast_text(view), blocks=broadcast_blocks(view))

    async def edit(
        self, channel: ChannelId, ts: SlackTs, *, text: str, blocks: list[dict[str, Any]]
    ) -> None:
        """chat.update, which waits out its own Retry-After, never a channel's."""
        await self.call(
            EDITS, self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks
        )

    @asynccontextmanager
    async def turn(self, channel: ChannelId) -> AsyncIterator[None]:
        """Wait for the channel's posting budget first; the post made inside uses it.

        A job reads what to post only once its turn has come, so texts that arrived while
        it waited go in the same post.
        """
        await self._wait_for_budget(channel)
        token = _reserved.set(channel)
        try:
            yield
        finally:
            _reserved.reset(token)

    async def _wait_for_budget(self, channel: str) -> None:
        """https://docs.slack.dev/apis/web-api/rate-limits: about one message per second per
        channel, with short bursts allowed; the budget is shared by every instance."""
        wait = await self.limiter.reserve(
            f"slack:{channel}", rate=self.posts_per_second, burst=self.post_burst
        )
        if wait > 0:
            await asyncio.sleep(wait)

    async def _post(self, channel: str, **kwargs: Any) -> Any:
        """chat.postMessage within Slack's per-channel budget."""
        if _reserved.get() == channel:
            _reserved.set(None)  # one post per turn
        else:
            await self._wait_for_budget(channel)
        return await self.call(channel, self.client.chat_postMessage, channel=channel, **kwargs)

    async def post_in_thread(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        text: str,
        *,
        from_contact: bool,
        posting: Posting | None = None,
        broadcast: bool = False,
    ) -> PostedMessage:
        options: dict[str, Any] = {"reply_broadcast": True} if broadcast else {}
        if from_contact:
            # A texter's words are shown as they are: escaped, never parsed as mrkdwn.
            text = escape_for_slack(text)
            options |= {"mrkdwn": False, "parse": "none"}
        if posting is not None:
            options["metadata"] = mark(POSTING_EVENT_TYPE, posting)
        response = await self._post(
            channel,
            thread_ts=thread_ts,
            text=text,
            unfurl_links=False,
            unfurl_media=False,
            **options,
        )
        return PostedMessage(ChannelId(response["channel"]), SlackTs(response["ts"]))

    async def post_texts(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        shown: Sequence[ShownText],
        *,
        case_id: int,
        broadcast: bool = False,
    ) -> PostedMessage:
        if len(shown) == 1:
            [text] = shown
            return await self.post_in_thread(
                channel,
                thread_ts,
                text.text or texts.EMPTY_INBOUND,
                from_contact=True,
                posting=Posting(case_id, (text.message_id,)),
                broadcast=broadcast,
            )
        response = await self._post(
            channel,
            thread_ts=thread_ts,
            text="\n".join(escape_for_slack(text.text) for text in shown),
            blocks=texts_blocks(shown),
            unfurl_links=False,
            unfurl_media=False,
            metadata=mark(POSTING_EVENT_TYPE, Posting(case_id, tuple(t.message_id for t in shown))),
            **({"reply_broadcast": True} if broadcast else {}),
        )
        return PostedMessage(ChannelId(response["channel"]), SlackTs(response["ts"]))

    async def react(self, channel: ChannelId, ts: SlackTs, name: str) -> None:
        await self.call(
            method_gate("reactions.add"),
            self.client.reactions_add,
            channel=channel,
            timestamp=ts,
            name=name,
        )

    async def tell_user(
        self,
        channel: ChannelId,
        user: UserId,
        text: str,
        *,
        thread_ts: SlackTs | None,
        offer: Offer | None = None,
    ) -> None:
        await self.call(
            method_gate("chat.postEphemeral"),
            self.client.chat_postEphemeral,
            channel=channel,
            user=user,
            text=text,
            thread_ts=thread_ts,
            **({"blocks": offer_blocks(text, offer)} if offer else {}),
        )

    async def direct_message(self, user: UserId, text: str) -> None:
        opened = await self.call("conversations", self.client.conversations_open, users=user)
        channel = opened["channel"]["id"]
        await self._post(channel, text=text)

    async def forward_text(self, user: UserId, forwarded: ForwardedText) -> None:
        view = forwarded.view
        number = view.contact_address
        # A texter's words (and a name they gave) are made inert, as in case threads.
        label = escape_for_slack(view.contact_label)
        links = [
            f"<{link}|case #{case_id}>" if link else f"case #{case_id}"
            for case_id, link in forwarded.case_links
        ]
        words, cases = escape_for_slack(forwarded.text), ", ".join(links)
        if forwarded.email is not None:
            address = escape_for_slack(forwarded.email)
            contact = f"{label} ({address})" if view.contact_named else address
            if view.contact_address == forwarded.email:
                contact = label  # an email-only contact's label names its address already
            text = texts.FORWARD_EMAIL_DM.format(contact=contact, cases=cases, text=words)
        else:
            text = texts.FORWARD_DM.format(
                contact=f"{label} ({number})" if view.contact_named else number,
                our_number=format_number(view.our_number),
                cases=cases,
                text=words,
            )
        await self.direct_message(user, text)

    async def publish_home(self, home: HomeView) -> None:
        await self.call("views", self.client.views_publish, user_id=home.user, view=home_tab(home))

    async def workspace_admins(self) -> list[UserId]:
        """The workspace's admins and owners (people, not bots), asked now and then."""
        now = time.monotonic()
        if self._admins is None or now - self._admins[0] > ADMINS_TTL_SECONDS:
            admins: list[UserId] = []
            cursor: str | None = None
            while True:
                page = await self.call("users", self.client.users_list, cursor=cursor, limit=200)
                for member in (page or {}).get("members", []):
                    if (member.get("is_admin") or member.get("is_owner")) and not (
                        member.get("is_bot") or member.get("deleted")
                    ):
                        admins.append(UserId(member["id"]))
                cursor = ((page or {}).get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            self._admins = (now, admins)
        return list(self._admins[1])

    async def permalink(self, channel: ChannelId, ts: SlackTs) -> str | None:
        try:
            response = await self.call(
                method_gate("chat.getPermalink"),
                self.client.chat_getPermalink,
                channel=channel,
                message_ts=ts,
            )
        except SendError as error:
            log.warning("no permalink for a thread in %s: %s", channel, error.reason)
            return None
        return response["permalink"] if response else None

    async def render(self, source_text: str) -> str:
        """Slack mrkdwn → SMS text, with mentioned people shown by their display names."""
        names = {user: await self._display_name(user) for user in mentioned_user_ids(source_text)}
        return slack_to_plain(source_text, user_names=names)

    async def _display_name(self, user: str) -> str:
        if user not in self._names:
            response = await self.call("users", self.client.users_info, user=user)
            profile = (response or {}).get("user", {}).get("profile", {})
            self._names[user] = profile.get("display_name") or profile.get("real_name") or "someone"
        return self._names[user]
