"""The Slack app manifest (`manifest.yml`): the single source of the app's scopes, events
and commands, printed for the user's public URL or for Socket Mode."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"
URL_PLACEHOLDER = "https://bridge.example.org"


@functools.cache
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def bot_scopes() -> frozenset[str]:
    """The bot token scopes the app asks for."""
    return frozenset(manifest()["oauth_config"]["scopes"]["bot"])


def manifest_for_url(url: str) -> str:
    """The manifest with the bridge's public base URL in every request URL."""
    return MANIFEST.read_text(encoding="utf-8").replace(URL_PLACEHOLDER, url.rstrip("/"))


def manifest_for_socket_mode() -> str:
    """The manifest for Socket Mode: no request URLs (Slack's traffic comes over the socket)."""
    lines = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines(keepends=True):
        if URL_PLACEHOLDER in line:
            continue  # a `url:` or `request_url:` line
        lines.append(line.replace("socket_mode_enabled: false", "socket_mode_enabled: true"))
    return "".join(lines)
