"""One root exception for the project, and the few kinds callers tell apart."""

from __future__ import annotations


class BridgeError(Exception):
    """Root of every error smschat-bridge raises on purpose."""


class ConfigError(BridgeError):
    """A setting is missing or invalid; the message names the variable."""


class StoreUnavailable(BridgeError):
    """The store could not be reached or could not take the work now; try again later."""


class InvalidInput(BridgeError):
    """Input from outside (webhook, command, file) that we refuse, with a reason for the sender."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SendError(BridgeError):
    """A call to Slack or the carrier failed.

    `retryable` tells the outbox whether trying again can help; `retry_after` (seconds)
    is the wait the remote side asked for, when it said one. `fixable` marks a refusal
    that a person can lift (a token replaced, the bot invited to a channel): the outbox
    keeps such a job waiting for a while instead of giving up at once.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        code: str | None = None,
        fixable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code
        self.fixable = fixable


class MediaRefused(BridgeError):
    """A file from outside that will not be shown (too large, unreadable, not what it
    says, or from where files are not fetched): `reason` says which, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
