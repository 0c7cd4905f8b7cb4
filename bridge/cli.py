"""The `smschat-bridge` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bridge.config import Settings, load_settings
from bridge.errors import ConfigError
from bridge.logs import configure_logging

log = logging.getLogger("bridge")

MANIFEST = Path(__file__).with_name("manifest.yml")
URL_PLACEHOLDER = "https://bridge.example.org"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smschat-bridge", description="Every SMS conversation a Slack thread."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the Slack and Vonage endpoints and relay messages")
    commands.add_parser("migrate", help="bring the database schema up to date")
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--url", required=True, help="the bridge's public https URL")
    args = parser.parse_args(argv)

    if args.command == "manifest":
        return print_manifest(args.url)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"smschat-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secret_values())
    if args.command == "migrate":
        from bridge.store.db import migrate

        asyncio.run(migrate(settings.database_url))
        log.info("database schema is up to date")
        return 0
    return asyncio.run(serve(settings))


def print_manifest(url: str) -> int:
    if not url.startswith("https://"):
        print(
            "smschat-bridge: --url must be the public https:// URL of the bridge", file=sys.stderr
        )
        return 2
    print(MANIFEST.read_text(encoding="utf-8").replace(URL_PLACEHOLDER, url.rstrip("/")), end="")
    return 0


async def serve(settings: Settings) -> int:
    from aiohttp import web

    from bridge.app import build_bridge, build_web_app

    bridge = await build_bridge(settings)
    if settings.vonage_signature_secret is None:
        log.warning(
            "VONAGE_SIGNATURE_SECRET is not set: Vonage webhooks are accepted without a signature"
        )
    runner = web.AppRunner(build_web_app(bridge), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.host, settings.port, exc.strerror)
        await runner.cleanup()
        await bridge.close()
        return 1
    await bridge.start_background()
    socket_mode = None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        socket_mode = AsyncSocketModeHandler(
            bridge.bolt, settings.slack_app_token.get_secret_value()
        )
        await socket_mode.connect_async()
    log.info(
        "smschat-bridge listening on %s (Slack over %s)",
        ", ".join(str(a) for a in runner.addresses),
        "Socket Mode" if socket_mode else "HTTP",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    if socket_mode is not None:
        await socket_mode.close_async()
    await runner.cleanup()
    await bridge.close()
    return 0
