"""Loopback stand-ins for the Slack Web API and Vonage, speaking their real wire formats.

Used by the test suite and by the local demo sandbox; nothing here talks to the internet.
"""

from __future__ import annotations

from bridge.fakes.slack_api import FakeSlack, SlackCall
from bridge.fakes.slack_payloads import slack_signature_headers
from bridge.fakes.tls import TestTls
from bridge.fakes.vonage_api import FakeVonage, VonageSend

__all__ = [
    "FakeSlack",
    "FakeVonage",
    "SlackCall",
    "TestTls",
    "VonageSend",
    "slack_signature_headers",
]
