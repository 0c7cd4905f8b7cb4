"""How a text goes out exactly once, top to bottom.

1. The job reads the message. Anything but QUEUED means it went (or was refused) already.
2. A send started earlier but never recorded (its instance died mid-call, or the call
   got no answer) may have reached the carrier. Its client-ref was committed before the
   call, and the carrier's receipts carry it back: wait up to `RECEIPT_WAIT` after that
   send started for a receipt naming the ref (and for as long as the inbox holds one not
   yet routed), and record the send from it. No receipt: nothing went out under that
   ref, or its receipts are later than the wait; send again.
3. Render a staff reply as SMS text (the bridge's own texts go as written), measure it,
   and refuse what must not go (opted out, empty, too long), telling its author.
4. Commit a fresh client-ref and the moment, then make exactly one call. The HTTP client
   never retries on its own: only this job, run again by the outbox, decides to.
5. A refusal from the carrier means nothing went out: forget the ref. Any other failure
   (a timeout, a lost answer) keeps it, so that step 2 finds it next time.
6. Record the carrier's message ids and apply the receipts that came before them.

A staff message sharing several files goes as several sends, in order: one MMS per picture
(the first carries the text; the Messages API takes one image a message), then one SMS with
the links to the rest. Before anything goes, each further send becomes a message of its own
(`files_of_id`), its files moved to it in one transaction: each send then has its own
client-ref, steps 2 to 6 and receipts, and a run again sends only what has not gone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge import texts
from bridge.domain.events import send_conversation
from bridge.domain.media import (
    MMS_TYPES,
    MediaRecord,
    MediaState,
    kind_of,
    reaches_by_mms,
    slack_file_of,
    stored_name,
)
from bridge.domain.numbers import format_number
from bridge.domain.records import MessageRecord
from bridge.domain.segments import SmsMeasure, measure, normalize_typography
from bridge.domain.values import Direction, MessageStatus
from bridge.domain.work import SendSms
from bridge.errors import MediaRefused, SendError
from bridge.jobs.base import JobHandler
from bridge.routing.ports import Unit
from bridge.routing.receipts import accept_receipt, gave_up, show_sent_automated
from bridge.routing.threads import note, tell

log = logging.getLogger(__name__)

# How long after an interrupted send started its receipt is waited for before sending again.
RECEIPT_WAIT = timedelta(seconds=10)
RECEIPT_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class FileWay:
    """How one shared file reaches the contact: as an MMS's picture, as a link in the text,
    or not at all; with the note the thread gets about it."""

    picture: str | None = None
    link: str | None = None
    note: str | None = None


def new_client_ref(message_id: int) -> str:
    """A reference naming one send of one text (at most 40 characters, as Vonage allows)."""
    return f"smschat-{message_id}-{uuid.uuid4().hex[:12]}"


class SendText(JobHandler[SendSms]):
    """Sends a staff reply, a text staff started, a forwarded copy or an automated text."""

    async def run(self, work: SendSms) -> None:
        units = self.ctx.units
        async with units.reading() as unit:
            message = await unit.messages.get(work.message_id)
        if message is None:
            return
        if message.status == MessageStatus.QUEUED:
            await self._files_apart(message)
        await self._send(message.id, work)
        async with units.reading() as unit:
            first = await unit.messages.get(message.id)
            further = await unit.messages.file_sends(message.id)
        for apart in further:
            if first is not None and first.status == MessageStatus.NOT_SENT:
                # What stopped the message (an opt-out, its length) stops its files too.
                async with units.unit() as unit:
                    await unit.messages.refuse(apart.id, first.error or texts.EMPTY_REPLY)
            else:
                await self._send(apart.id, work)

    async def _send(self, message_id: int, work: SendSms) -> None:
        ctx = self.ctx
        # 1. What is to go.
        async with ctx.units.reading() as unit:
            message = await unit.messages.get(message_id)
        if message is None or message.status != MessageStatus.QUEUED:
            return
        files = await self._kept_files(message)
        # 2. A send that may have gone out already.
        if message.send_ref is not None and message.send_started_at is not None:
            if await self._recorded_from_receipts(
                message, message.send_ref, message.send_started_at
            ):
                return
        # 3. The text as it goes, and whether it may.
        automated = message.direction in (Direction.AUTOMATED, Direction.FORWARDED)
        # A broadcast's text was made as it goes; like a staff text, it may be refused.
        as_written = automated or message.direction == Direction.BROADCAST
        source = message.source_text or message.text
        text = source if as_written else await self._render(source, work.case_id)
        text, image_url, file_note = self._with_files(message, files, text)
        size = measure(text)
        ref = new_client_ref(message.id)
        async with ctx.units.unit() as unit:
            refusal = (
                None
                if automated
                else await self._refusal(
                    unit, message, text, size, image=bool(image_url), file_note=file_note
                )
            )
            if refusal:
                await unit.messages.measure(
                    message.id, text=text, segments=size.segments, encoding=size.encoding
                )
                await unit.messages.refuse(message.id, refusal)
                await _tell_author(unit, message, refusal)
                return
            # 4. The ref is committed before the call.
            await unit.messages.start_send(
                message.id,
                text=text,
                segments=size.segments,
                encoding=size.encoding,
                ref=ref,
                at=ctx.clock.now(),
            )
        try:
            sent = await ctx.sender.send(
                to=message.contact_number,
                sender=message.our_number,
                text=text,
                client_ref=ref,
                image_url=image_url,
            )
        except SendError as error:
            # 5. The carrier answered with a refusal: nothing went out under this ref.
            if error.code is not None:
                async with ctx.units.unit() as unit:
                    await unit.messages.cancel_send(message.id)
            raise
        # 6. Recorded.
        async with ctx.units.unit() as unit:
            await self._record_sent(unit, message, sent.provider_message_ids)
            if file_note is not None and work.case_id is not None:
                await note(unit, work.case_id, file_note)
        log.info("text %s submitted in %s segment(s)", message.id, size.segments)

    async def _kept_files(self, message: MessageRecord) -> list[MediaRecord]:
        """The files a staff message carries, each fetched from Slack and kept first if need be."""
        ctx = self.ctx
        async with ctx.units.reading() as unit:
            files = await unit.media.all_of_message(message.id)
        for media in files:
            file_id = slack_file_of(media)
            if media.state != MediaState.PENDING or file_id is None:
                continue
            try:
                fetched = await ctx.files.download(file_id, most=ctx.media_max_bytes)
            except MediaRefused as refused:
                async with ctx.units.unit() as unit:
                    await unit.media.refuse(media.id, refused.reason)
            else:
                kind = kind_of(fetched.content_type)
                name = stored_name(kind, media.id, fetched.content_type)
                async with ctx.units.unit() as unit:
                    await unit.media.store(media.id, fetched, name=name, kind=kind)
        async with ctx.units.reading() as unit:
            return await unit.media.all_of_message(message.id)

    async def _files_apart(self, message: MessageRecord) -> None:
        """Give each picture after the first, and the links to the other files, a send of its
        own (see the top of this module); a message that one send carries stays as it is."""
        ctx = self.ctx
        files = await self._kept_files(message)
        ways = [self._way(message, media) for media in files]
        pictures = [media.id for media, way in zip(files, ways, strict=True) if way.picture]
        links = [media.id for media, way in zip(files, ways, strict=True) if way.link]
        if not pictures:
            return  # the text and every link in one SMS
        apart = [[picture] for picture in pictures[1:]] + ([links] if links else [])
        if not apart:
            return
        async with ctx.units.unit() as unit:
            postings = await unit.messages.postings(message.id)
            for media_ids in apart:
                send_id = await unit.messages.add_file_send(message, at=ctx.clock.now())
                # Shown where the message is: receipts react on it, failures are noted there.
                for case, ts in postings:
                    await unit.messages.link(case.id, send_id, slack_ts=ts)
                await unit.media.move(media_ids, send_id)
        log.info("text %s goes as %s sends for its files", message.id, len(apart) + 1)

    def _way(self, message: MessageRecord, media: MediaRecord) -> FileWay:
        """How one file reaches the contact, and what the thread is told of it."""
        if media.state != MediaState.STORED:
            return FileWay(note=texts.FILE_NOT_SENT.format(reason=media.refusal))
        link = self.ctx.links.url_for(media.id)
        if link is None:
            return FileWay(note=texts.FILE_NOT_SENT.format(reason=texts.NO_PUBLIC_URL))
        why = (
            "api"
            if not self.ctx.sender.sends_mms
            else "type"
            if media.content_type not in MMS_TYPES
            else "country"
            if not reaches_by_mms(message.contact_number)
            else None
        )
        if why is None:
            return FileWay(picture=link)
        shown = texts.FILE_AS_LINK.format(
            why=texts.FILE_AS_LINK_WHY[why], hours=self.ctx.links.hours
        )
        return FileWay(link=link, note=shown)

    def _with_files(
        self, message: MessageRecord, files: Sequence[MediaRecord], text: str
    ) -> tuple[str, str | None, str | None]:
        """The text as it goes (with the links), the picture an MMS carries (after
        `_files_apart`, at most one), and the note the thread gets."""
        ways = [self._way(message, media) for media in files]
        pictures = [way.picture for way in ways if way.picture]
        links = [way.link for way in ways if way.link]
        notes = dict.fromkeys(way.note for way in ways if way.note)
        if links:
            text = "\n".join([text, *links] if text.strip() else links)
        return text, (pictures[0] if pictures else None), "\n".join(notes) or None

    async def _recorded_from_receipts(
        self, message: MessageRecord, ref: str, started_at: datetime
    ) -> bool:
        """Record a send started earlier from its receipts, waiting for one until
        `RECEIPT_WAIT` after it started; False if none came."""
        units, clock = self.ctx.units, self.ctx.clock
        while True:
            # The inbox before the receipts: a receipt leaves the inbox in the commit that
            # records it, so read in this order one of the two always shows it.
            async with units.reading() as unit:
                arriving = await unit.arrivals.waiting_in(send_conversation(ref))
                receipted = bool(await unit.sends.early_ids(ref))
            if receipted:
                async with units.unit() as unit:
                    # Under the send's lock, so that no receipt of it slips in meanwhile.
                    await unit.sends.lock_send(ref)
                    await self._record_sent(unit, message, await unit.sends.early_ids(ref))
                log.info("text %s went out before an interruption; recorded", message.id)
                return True
            # A receipt kept by the inbox but not yet routed is proof enough to wait on.
            if not arriving and clock.now() >= started_at + RECEIPT_WAIT:
                log.warning(
                    "no receipt for the interrupted send of text %s; sending again", message.id
                )
                return False
            await asyncio.sleep(RECEIPT_POLL_SECONDS)

    async def _record_sent(
        self, unit: Unit, message: MessageRecord, provider_ids: Sequence[str]
    ) -> None:
        rules = self.ctx.rules
        await unit.sends.record_sent(message.id, provider_ids)
        for receipt in await unit.sends.take_early(provider_ids):
            await accept_receipt(unit, receipt, rules=rules)
        await show_sent_automated(unit, message, rules=rules)

    async def _render(self, source: str, case_id: int | None) -> str:
        rules = self.ctx.rules
        text = await self.ctx.renderer.render(source)
        if rules.normalize_typography:
            text = normalize_typography(text)
        if case_id is not None and text.strip():
            text = rules.with_case_ref(text, case_id)
        return text

    async def _refusal(
        self,
        unit: Unit,
        message: MessageRecord,
        text: str,
        size: SmsMeasure,
        *,
        image: bool,
        file_note: str | None,
    ) -> str | None:
        """Why a staff text must not go out, in words for its author; None if it may."""
        rules = self.ctx.rules
        if await unit.opt_outs.is_opted_out(message.contact_number, message.our_number):
            return texts.OPTED_OUT.format(
                contact=format_number(message.contact_number),
                number=format_number(message.our_number),
            )
        if not text.strip() and not image:
            return file_note or texts.EMPTY_REPLY
        if size.segments > rules.max_segments:
            why = (
                texts.TOO_LONG_UCS2.format(chars=" ".join(size.non_gsm_chars))
                if size.non_gsm_chars
                else ""
            )
            return texts.TOO_LONG.format(
                segments=size.segments, encoding=size.encoding, cap=rules.max_segments, why=why
            )
        return None

    async def give_up(self, work: SendSms, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            message = await unit.messages.get(work.message_id)
            further = await unit.messages.file_sends(work.message_id)
            # What went before the failure stays as it is; the rest fails with it.
            for unsent in [message, *further]:
                if unsent is None or unsent.status != MessageStatus.QUEUED:
                    continue
                await gave_up(
                    unit,
                    unsent.id,
                    reason=error.reason,
                    retryable=error.retryable,
                    rules=self.ctx.rules,
                )


async def _tell_author(unit: Unit, message: MessageRecord, text: str) -> None:
    """A staff member's text was refused: tell them in the thread where they wrote it."""
    if not (message.author and message.origin_channel):
        return
    for case, _ts in await unit.messages.postings(message.id):
        await tell(unit, case, message.author, text)
