"""The files of messages (`MediaFiles` over one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.media import FetchedMedia, InboundMedia, MediaRecord, MediaState
from bridge.store.models_media import MediaFile, MediaUpload


def _record(row: MediaFile) -> MediaRecord:
    return MediaRecord(
        id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        state=MediaState(row.state),
        source_url=row.source_url,
        content_type=row.content_type,
        size=row.size,
        name=row.name,
        refusal=row.refusal,
    )


class SqlMedia:
    def __init__(self, session: AsyncSession, now: Callable[[], datetime]) -> None:
        self.session = session
        self.now = now

    async def announce(self, message_id: int, media: InboundMedia) -> int:
        row = MediaFile(
            message_id=message_id,
            kind=media.kind,
            state=MediaState.PENDING,
            source_url=media.url,
            created_at=self.now(),
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def of_message(self, message_id: int) -> MediaRecord | None:
        found = await self.all_of_message(message_id)
        return found[0] if found else None

    async def all_of_message(self, message_id: int) -> list[MediaRecord]:
        rows = await self.session.scalars(
            select(MediaFile)
            .where(MediaFile.message_id == message_id)
            .order_by(MediaFile.id)
            .execution_options(populate_existing=True)
        )
        return [_record(row) for row in rows]

    async def move(self, media_ids: Sequence[int], message_id: int) -> None:
        await self.session.execute(
            update(MediaFile).where(MediaFile.id.in_(media_ids)).values(message_id=message_id)
        )

    async def store(
        self, media_id: int, fetched: FetchedMedia, *, name: str, kind: str | None = None
    ) -> None:
        await self._settle(
            media_id,
            state=MediaState.STORED,
            content_type=fetched.content_type,
            size=len(fetched.data),
            name=name,
            data=fetched.data,
            **({"kind": kind} if kind else {}),
        )

    async def refuse(self, media_id: int, reason: str) -> None:
        await self._settle(media_id, state=MediaState.REFUSED, refusal=reason[:500])

    async def _settle(self, media_id: int, **values: object) -> None:
        # The carrier's URL is forgotten once the file is settled: it is never shown.
        await self.session.execute(
            update(MediaFile)
            .where(MediaFile.id == media_id, MediaFile.state == MediaState.PENDING)
            .values(source_url=None, **values)
        )

    async def data(self, media_id: int) -> bytes | None:
        return await self.session.scalar(select(MediaFile.data).where(MediaFile.id == media_id))

    async def kept(self, media_id: int) -> FetchedMedia | None:
        row = (
            await self.session.execute(
                select(MediaFile.content_type, MediaFile.data).where(
                    MediaFile.id == media_id, MediaFile.state == MediaState.STORED
                )
            )
        ).first()
        return FetchedMedia(content_type=row[0], data=row[1]) if row and row[1] else None

    async def upload_started(self, media_id: int, case_id: int, file_id: str) -> None:
        row = await self.session.get(MediaUpload, (media_id, case_id))
        if row is None:
            self.session.add(
                MediaUpload(
                    media_id=media_id, case_id=case_id, slack_file_id=file_id, started_at=self.now()
                )
            )
        else:
            row.slack_file_id, row.started_at = file_id, self.now()
        await self.session.flush()

    async def upload_of(self, media_id: int, case_id: int) -> str | None:
        return await self.session.scalar(
            select(MediaUpload.slack_file_id).where(
                MediaUpload.media_id == media_id, MediaUpload.case_id == case_id
            )
        )
