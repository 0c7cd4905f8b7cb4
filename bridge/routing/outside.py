"""The ports to the world outside the store: the chat and the carrier.

The Slack adapter implements `ChatPoster` and `ReplyRenderer` (bridge/slack/poster.py); the
carrier adapter implements `SmsSender` (bridge/sms/sender.py). Each raises `SendError`
saying whether a retry can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bridge.domain.broadcasts import BroadcastView
from bridge.domain.values import (
    ChannelId,
    FoundPost,
    Offer,
    PhoneNumber,
    PostedMessage,
    Posting,
    SentSms,
    SlackTs,
    UserId,
)
from bridge.domain.views import CaseView, ForwardedText, HomeView, ShownText


class ChatPoster(Protocol):
    """Posts to the chat; raises `SendError` saying whether a retry can help."""

    async def post_header(self, channel: ChannelId, view: CaseView) -> PostedMessage:
        """A case's header: the top of its thread."""

    async def update_header(self, channel: ChannelId, ts: SlackTs, view: CaseView) -> None:
        """Draw the header at `ts` as `view` shows the case now."""

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
        """A reply in a thread; `broadcast` shows it in the channel too."""

    async def post_texts(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        shown: Sequence[ShownText],
        *,
        case_id: int,
        broadcast: bool = False,
    ) -> PostedMessage:
        """Contacts' texts of one case in one reply, marked with their message ids."""

    def turn(self, channel: ChannelId) -> AbstractAsyncContextManager[None]:
        """Entered once the channel's posting budget allows a post; the next post made
        inside takes that turn."""

    async def find_header(
        self, channel: ChannelId, case_id: int, *, since: datetime
    ) -> FoundPost | None:
        """Case `case_id`'s header if posted in the channel at or after `since`."""

    async def find_posting(
        self,
        channel: ChannelId,
        thread_ts: SlackTs,
        case_id: int,
        message_id: int,
        *,
        since: datetime,
    ) -> FoundPost | None:
        """A post showing the message made in the thread at or after `since`."""

    async def post_broadcast(self, channel: ChannelId, view: BroadcastView) -> PostedMessage:
        """A broadcast's post with its figures and Cancel."""

    async def update_broadcast(self, channel: ChannelId, ts: SlackTs, view: BroadcastView) -> None:
        """Redraw the broadcast's post at `ts` as `view` shows it now."""

    async def find_broadcast(
        self, channel: ChannelId, broadcast_id: int, *, since: datetime
    ) -> SlackTs | None:
        """The ts of broadcast `broadcast_id`'s post if made in the channel since `since`."""

    async def react(self, channel: ChannelId, ts: SlackTs, name: str) -> None:
        """A reaction (`name`, without colons) on the message at `ts`."""

    async def tell_user(
        self,
        channel: ChannelId,
        user: UserId,
        text: str,
        *,
        thread_ts: SlackTs | None,
        offer: Offer | None = None,
    ) -> None:
        """An ephemeral message; `offer` adds a button for what the person may do next."""

    async def permalink(self, channel: ChannelId, ts: SlackTs) -> str | None:
        """A link to the message at `ts`, None when the chat gives none."""

    async def direct_message(self, user: UserId, text: str) -> None:
        """A direct message from the app to `user`."""

    async def workspace_admins(self) -> list[UserId]:
        """The workspace's admins and owners."""

    async def publish_home(self, home: HomeView) -> None:
        """Draw one person's App Home."""

    async def forward_text(self, user: UserId, forwarded: ForwardedText) -> None:
        """A direct message telling `user` of a contact's text."""


class ChatEraser(Protocol):
    """Removes the bot's posts; raises `SendError` saying whether a retry can help."""

    async def own_replies(self, channel: ChannelId, thread_ts: SlackTs) -> list[SlackTs]:
        """The ts of every reply the bot itself posted in the thread (its parent left out)."""

    async def delete(self, channel: ChannelId, ts: SlackTs) -> None:
        """Delete the bot's message at `ts`; one already gone counts as deleted."""

    async def tombstone(self, channel: ChannelId, ts: SlackTs, text: str) -> None:
        """Replace the bot's message at `ts` by `text` alone: no blocks, no buttons."""


class VoiceCaller(Protocol):
    """Places calls; raises `SendError` (retryable when the call may have been placed)."""

    async def call(
        self,
        *,
        staff_phone: PhoneNumber,
        contact: PhoneNumber,
        our_number: PhoneNumber,
        greeting: str,
    ) -> str:
        """Ring `staff_phone` from `our_number`; answered, say `greeting` and connect the
        contact with our number as caller id. The carrier's call id."""


class ReplyRenderer(Protocol):
    """Turns a staff message as the chat stores it into the plain text an SMS carries."""

    async def render(self, source_text: str) -> str:
        """The plain text of `source_text` (mentions, links, markup resolved)."""


class SmsSender(Protocol):
    """Sends one text; raises `SendError` saying whether a retry can help.

    `client_ref` goes with the send and comes back in its delivery receipts.
    """

    sends_mms: bool  # whether `image_url` can go (the Messages API is set up)

    async def send(
        self,
        *,
        to: PhoneNumber,
        sender: PhoneNumber,
        text: str,
        client_ref: str,
        image_url: str | None = None,
    ) -> SentSms:
        """The carrier took the text (with `image_url`: an MMS of that picture, the text its
        caption): its message ids, one per part."""
