"""What every job handler has: its context, and a trace left when the outbox gives up."""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

from bridge.domain.work import Work
from bridge.errors import SendError
from bridge.jobs.context import JobContext

log = logging.getLogger(__name__)

W = TypeVar("W", bound=Work)


class JobHandler(Generic[W]):
    """Performs one kind of work, given typed; safe to run twice.

    A handler that may find an earlier attempt's effect in the outside world (its
    instance died mid-call, or the call got no answer) also defines `run_again`.
    """

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def run(self, work: W) -> None:
        raise NotImplementedError

    async def give_up(self, work: W, error: SendError) -> None:
        """By default an error in the log, naming the work (never what it carries)."""
        log.error("%s given up: %s", work.kind, error.reason)
