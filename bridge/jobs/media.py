"""How a contact's picture or file reaches the case thread, once.

1. The job runs in the case's thread queue, after its header. The file is fetched from
   the carrier (only the first case to need it fetches; the store keeps it), or refused
   with the reason (too large, unreadable, not what it said, kept off Vonage's hosts).
2. A refused file: the text is posted with a note saying what arrived and why it is not
   shown, carrying the mark a run again looks for.
3. A kept file goes up by Slack's external upload: the upload is reserved, its Slack file
   id committed, the bytes sent, and the upload completed into the thread with the text as
   its message. Nothing shows before completion, so an interruption before it leaves
   nothing behind; run again, the job first asks Slack whether the committed file was
   shared, and only uploads anew if not. The share's ts is recorded as the text's post.
"""

from __future__ import annotations

import logging

from bridge import texts
from bridge.domain.media import InboundMedia, MediaRecord, MediaState, stored_name
from bridge.domain.records import CaseRecord, MessageRecord
from bridge.domain.values import ChannelId, Posting, SlackTs
from bridge.domain.work import PostMedia
from bridge.errors import MediaRefused, SendError
from bridge.jobs.base import JobHandler
from bridge.jobs.slack_posts import CLOCK_MARGIN, thread_of
from bridge.routing.threads import note

log = logging.getLogger(__name__)


class PostThreadMedia(JobHandler[PostMedia]):
    async def run(self, work: PostMedia) -> None:
        await self._post(work, look_first=False)

    async def run_again(self, work: PostMedia) -> None:
        await self._post(work, look_first=True)

    async def _post(self, work: PostMedia, *, look_first: bool) -> None:
        case = await thread_of(self.ctx, work.case_id)
        async with self.ctx.units.reading() as unit:
            message = await unit.messages.get(work.message_id)
            media = await unit.media.of_message(work.message_id)
            if case is None or case.thread_ts is None or message is None or media is None:
                return
            postings = await unit.messages.postings(message.id)
        if any(posted.id == case.id for posted, _ts in postings):
            return
        if media.state == MediaState.PENDING:
            media = await self._fetch(media)
        if media.state == MediaState.STORED:
            ts = await self._upload(case, message, media, look_first=look_first)
        else:
            ts = await self._post_noted(case, message, media, work, look_first=look_first)
        async with self.ctx.units.unit() as unit:
            await unit.messages.set_posted(case.id, message.id, ts)

    async def _fetch(self, media: MediaRecord) -> MediaRecord:
        ctx = self.ctx
        assert media.source_url is not None
        announced = InboundMedia(kind=media.kind, url=media.source_url)
        try:
            fetched = await ctx.media.fetch(announced, most=ctx.media_max_bytes)
        except MediaRefused as refused:
            log.info("file of text %s not shown: %s", media.message_id, refused.reason)
            async with ctx.units.unit() as unit:
                await unit.media.refuse(media.id, refused.reason)
        else:
            name = stored_name(media.kind, media.id, fetched.content_type)
            async with ctx.units.unit() as unit:
                await unit.media.store(media.id, fetched, name=name)
        async with ctx.units.reading() as unit:
            settled = await unit.media.of_message(media.message_id)
        assert settled is not None
        return settled

    async def _upload(
        self, case: CaseRecord, message: MessageRecord, media: MediaRecord, *, look_first: bool
    ) -> SlackTs:
        files, units = self.ctx.files, self.ctx.units
        channel, thread_ts = ChannelId(case.channel), SlackTs(case.thread_ts or "")
        if look_first:
            async with units.reading() as unit:
                started = await unit.media.upload_of(media.id, case.id)
            if started is not None and (ts := await files.shared_at(started, channel)):
                log.info("file of text %s was already shared in case #%s", message.id, case.id)
                return ts
        async with units.reading() as unit:
            data = await unit.media.data(media.id)
        assert data is not None and media.name and media.content_type
        upload_url, file_id = await files.start_upload(name=media.name, size=len(data))
        async with units.unit() as unit:
            await unit.media.upload_started(media.id, case.id, file_id)
        await files.send_bytes(upload_url, data, media.content_type)
        await files.complete_upload(
            file_id, title=media.name, channel=channel, thread_ts=thread_ts, comment=message.text
        )
        ts = await files.shared_at(file_id, channel)
        if ts is None:
            # Completed, but not listed yet: the run again finds the share by the file id.
            raise SendError("Slack has not listed the shared file yet", retryable=True)
        return ts

    async def _post_noted(
        self,
        case: CaseRecord,
        message: MessageRecord,
        media: MediaRecord,
        work: PostMedia,
        *,
        look_first: bool,
    ) -> SlackTs:
        poster = self.ctx.poster
        channel, thread_ts = ChannelId(case.channel), SlackTs(case.thread_ts or "")
        posting = Posting(case.id, (message.id,))
        if look_first:
            since = message.created_at - CLOCK_MARGIN
            found = await poster.find_posting(channel, thread_ts, case.id, message.id, since=since)
            if found is not None:
                return found.ts
        shown = texts.MEDIA_NOT_SHOWN.format(
            what=texts.MEDIA_WHAT.get(media.kind, "a file"), reason=media.refusal
        )
        text = f"{message.text}\n{shown}" if message.text else shown
        posted = await poster.post_in_thread(
            channel, thread_ts, text, from_contact=True, posting=posting, broadcast=work.broadcast
        )
        return posted.ts

    async def give_up(self, work: PostMedia, error: SendError) -> None:
        async with self.ctx.units.unit() as unit:
            media = await unit.media.of_message(work.message_id)
            if media is not None and media.state == MediaState.PENDING:
                # The carrier could not be asked in time: the text goes up with a note.
                why = texts.MEDIA_NOT_FETCHED.format(reason=error.reason)
                await unit.media.refuse(media.id, why)
                await unit.jobs.add(PostMedia(work.case_id, work.message_id, work.broadcast))
                return
            await note(unit, work.case_id, texts.POST_GAVE_UP.format(reason=error.reason))
