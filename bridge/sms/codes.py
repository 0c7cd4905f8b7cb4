"""Vonage SMS API status and error codes, in plain words for staff.

Two tables, each following the Vonage page named above it. Lookups never raise: a code
Vonage adds later is described as unknown rather than breaking a webhook or a send.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendStatusInfo:
    """What a `status` in the SMS API send response means.

    `retryable` says whether sending the same message again later can help; the outbox
    decides when and how often.
    """

    code: str
    name: str
    words: str
    retryable: bool
    known: bool = True


@dataclass(frozen=True, slots=True)
class ReceiptErrorInfo:
    """What an `err-code` in an SMS API delivery receipt means.

    `means_recipient_blocked` is set for codes that say the recipient (or their line) has
    opted out of or barred our messages: sending again will not reach them, and the core
    may want to treat the contact as opted out.
    """

    code: str
    name: str
    words: str
    means_recipient_blocked: bool
    retry_may_help: bool
    known: bool = True


# SMS API send response `status` values.
# https://developer.vonage.com/en/api-errors/sms
# https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms#sms-api-error-codes
# (code, name, plain words for staff, retryable)
_SEND_STATUS_ROWS: tuple[tuple[int, str, str, bool], ...] = (
    (0, "Success", "Vonage accepted the message for delivery.", False),
    (
        1,
        "Throttled",
        "We are sending faster than the Vonage account allows; it will be retried.",
        True,
    ),
    (2, "Missing Parameters", "The bridge sent an incomplete request to Vonage (a bug).", False),
    (3, "Invalid Parameters", "The bridge sent a value Vonage refused, e.g. a bad number.", False),
    (4, "Invalid Credentials", "The Vonage API key or secret is wrong or disabled.", False),
    (5, "Internal Error", "Vonage had an internal problem; it will be retried.", True),
    (
        6,
        "Invalid Message",
        "Vonage could not process the message, e.g. an unknown number prefix.",
        False,
    ),
    (7, "Number Barred", "The recipient's number is on Vonage's barred list.", False),
    (
        8,
        "Partner Account Barred",
        "The Vonage account is suspended; contact Vonage support.",
        False,
    ),
    # Vonage's advice is "top-up and retry", but a top-up takes a person: the outbox's
    # backoff would give up first, so staff are told at once and resend afterwards.
    (
        9,
        "Partner Quota Violation",
        "The Vonage account is out of credit; top it up and send again.",
        False,
    ),
    (
        10,
        "Too Many Existing Binds",
        "Too many connections to Vonage at once; it will be retried.",
        True,
    ),
    (
        11,
        "Account Not Enabled For HTTP",
        "The Vonage account is not enabled for the SMS API.",
        False,
    ),
    (12, "Message Too Long", "The message is longer than Vonage allows.", False),
    (
        14,
        "Invalid Signature",
        "The request signature was wrong; check the signature secret.",
        False,
    ),
    (
        15,
        "Invalid Sender Address",
        "The sender number or name is not allowed for this destination.",
        False,
    ),
    (22, "Invalid Network Code", "The network code does not match the destination.", False),
    (23, "Invalid Callback Url", "The delivery receipt URL is too long or malformed.", False),
    (
        29,
        "Non-Whitelisted Destination",
        "The Vonage account is in demo mode and this number is not whitelisted.",
        False,
    ),
    (
        32,
        "Signature And API Secret Disallowed",
        "A signed request also carried the API secret.",
        False,
    ),
    (33, "Number De-activated", "The recipient's number is de-activated.", False),
)

SEND_STATUS_CODES: dict[int, SendStatusInfo] = {
    code: SendStatusInfo(str(code), name, text, retryable)
    for code, name, text, retryable in _SEND_STATUS_ROWS
}

# SMS API delivery receipt `err-code` values.
# https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts#dlr-error-codes
# Codes 16 and 50-54 are listed in Vonage's support article, not (yet) in the guide:
# https://api.support.vonage.com/hc/en-us/articles/204014733-Vonage-SMS-Delivery-Error-Codes-and-Descriptions
# Recipient-blocked codes: 4 ("Call Barred by User"), 9 ("The user has specifically requested
# not to receive messages from a specific service") and 53 ("consent not authorized").
# Not 6 or 14: those are the carrier's filters, not the recipient's choice.
# (code, name, plain words for staff, means_recipient_blocked, retry_may_help)
_RECEIPT_ERROR_ROWS: tuple[tuple[int, str, str, bool, bool], ...] = (
    (0, "Delivered", "The message was delivered.", False, False),
    (1, "Unknown", "Not delivered, and the carrier gave no reason.", False, False),
    (
        2,
        "Absent Subscriber - Temporary",
        "The phone was off or out of coverage; try again later.",
        False,
        True,
    ),
    (3, "Absent Subscriber - Permanent", "The number is no longer in use.", False, False),
    (4, "Call Barred by User", "The recipient has barred messages on their line.", True, False),
    (5, "Portability Error", "A problem with the number having moved network.", False, False),
    (6, "Anti-Spam Rejection", "The carrier's spam filter blocked the message.", False, False),
    (7, "Handset Busy", "The phone was busy; try again later.", False, True),
    (8, "Network Error", "A network error stopped delivery; try again later.", False, True),
    (
        9,
        "Illegal Number",
        "The recipient asked not to receive messages from this service.",
        True,
        False,
    ),
    (10, "Illegal Message", "The message was malformed, e.g. a wrong encoding flag.", False, False),
    (11, "Unroutable", "Vonage found no route to deliver the message.", False, False),
    (
        12,
        "Destination Unreachable",
        "No route to the number; check the number is right.",
        False,
        False,
    ),
    (
        13,
        "Subscriber Age Restriction",
        "The recipient cannot receive this message due to their age.",
        False,
        False,
    ),
    (
        14,
        "Number Blocked by Carrier",
        "The recipient's plan does not allow these messages.",
        False,
        False,
    ),
    (
        15,
        "Prepaid Insufficient Funds",
        "The recipient's prepaid credit is too low to receive it.",
        False,
        False,
    ),
    (
        16,
        "Gateway Quota Exceeded",
        "Too many messages for the allowed period; try again later.",
        False,
        True,
    ),
    (
        50,
        "Entity Filter",
        "Refused by regulation: the sender's entity ID is missing or wrong.",
        False,
        False,
    ),
    (
        51,
        "Header Filter",
        "Refused by regulation: the sender header/number is missing or wrong.",
        False,
        False,
    ),
    (
        52,
        "Content Filter",
        "Refused by regulation: the content template ID is missing or wrong.",
        False,
        False,
    ),
    (
        53,
        "Consent Filter",
        "Refused: the recipient has not given consent to these messages.",
        True,
        False,
    ),
    (54, "Regulation Error", "Refused for an unexpected regulatory reason.", False, False),
    (
        99,
        "General Error",
        "A routing error at Vonage; contact Vonage support if it repeats.",
        False,
        False,
    ),
)

RECEIPT_ERROR_CODES: dict[int, ReceiptErrorInfo] = {
    code: ReceiptErrorInfo(str(code), name, text, blocked, retry)
    for code, name, text, blocked, retry in _RECEIPT_ERROR_ROWS
}


def _as_int(code: int | str | None) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def describe_send_status(code: int | str | None) -> SendStatusInfo:
    """Describe an SMS API send `status`; an unknown or malformed code gets a generic entry."""
    number = _as_int(code)
    if number is not None and number in SEND_STATUS_CODES:
        return SEND_STATUS_CODES[number]
    shown = str(number) if number is not None else str(code)
    return SendStatusInfo(
        code=shown,
        name="Unknown status",
        words=f"Vonage answered with status {shown!r}, which this bridge does not know.",
        retryable=False,
        known=False,
    )


def describe_receipt_error(code: int | str | None) -> ReceiptErrorInfo:
    """Describe a delivery receipt `err-code`; an unknown or malformed code gets a generic entry."""
    number = _as_int(code)
    if number is not None and number in RECEIPT_ERROR_CODES:
        return RECEIPT_ERROR_CODES[number]
    shown = str(number) if number is not None else str(code)
    return ReceiptErrorInfo(
        code=shown,
        name="Unknown error",
        words=f"The carrier reported error {shown!r}, which this bridge does not know.",
        means_recipient_blocked=False,
        retry_may_help=False,
        known=False,
    )
