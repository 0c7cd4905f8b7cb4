"""The `smschat-bridge` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.cli_broadcast import add_broadcast_parser, broadcast
from bridge.cli_offline import (
    add_contacts_parser,
    add_export_parser,
    add_jobs_parser,
    contacts,
    export,
    jobs,
)
from bridge.config import Settings, load_settings
from bridge.errors import ConfigError
from bridge.logs import configure_logging
from bridge.tasks import stop_requests

if TYPE_CHECKING:
    from bridge.app import Bridge

log = logging.getLogger("bridge")
START_CHECKS_SECONDS = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smschat-bridge", description="Every SMS conversation a Slack thread."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the Slack and Vonage endpoints and relay messages")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser(
        "doctor",
        help="check the set-up: Slack token, scopes and channels, Vonage account, numbers "
        "and webhooks, database and Redis",
        description="Reads the settings `run` reads and checks each thing it needs, one line "
        "per check (✓, ✗ with what to do, – where it does not apply).",
        epilog="Exit status: 0 every check passed, 1 some failed, 2 the settings are invalid.",
    )
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    where = manifest.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the bridge's public https URL")
    where.add_argument(
        "--socket-mode",
        action="store_true",
        help="for Socket Mode (SLACK_APP_TOKEN): no request URLs",
    )
    add_demo_parser(commands)
    add_contacts_parser(commands)
    add_export_parser(commands)
    add_jobs_parser(commands)
    add_broadcast_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "manifest":
        return print_manifest(args.url, socket_mode=args.socket_mode)
    if args.command == "demo":
        return demo(args)
    if args.command == "contacts":
        return contacts(args)
    if args.command == "export":
        return export(args)
    if args.command == "jobs":
        return jobs(args)
    if args.command == "broadcast":
        return broadcast(args)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"smschat-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secret_values())
    if args.command == "doctor":
        return doctor(settings)
    if args.command == "migrate":
        from bridge.store.db import migrate

        asyncio.run(migrate(settings.database_url))
        log.info("database schema is up to date")
        return 0
    return asyncio.run(serve(settings))


def add_demo_parser(commands: argparse._SubParsersAction) -> None:
    demo_parser = commands.add_parser(
        "demo",
        help="try the bridge without accounts: a phone and a Slack-like inbox in your browser",
    )
    demo_parser.add_argument("--host", default="127.0.0.1", help="address of the demo page")
    demo_parser.add_argument("--port", type=_port, default=3000, help="port of the demo page")
    demo_parser.add_argument(
        "--database", type=Path, metavar="PATH", help="keep the SQLite database in PATH"
    )
    demo_parser.add_argument(
        "--empty", action="store_true", help="start without the example conversation"
    )


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)


def demo(args: argparse.Namespace) -> int:
    """The real bridge between the Slack and Vonage stand-ins; reads no settings."""
    from bridge.sandbox.server import DemoOptions, serve_demo

    options = DemoOptions(host=args.host, port=args.port, database=args.database, empty=args.empty)
    return asyncio.run(serve_demo(options))


def doctor(settings: Settings) -> int:
    from bridge.doctor import all_checks

    checks = asyncio.run(all_checks(settings))
    for check in checks:
        print(check.line())
    return 1 if any(check.passed is False for check in checks) else 0


def print_manifest(url: str | None, *, socket_mode: bool) -> int:
    from bridge.slack.manifest import manifest_for_socket_mode, manifest_for_url

    if socket_mode:
        print(manifest_for_socket_mode(), end="")
        return 0
    if url is None or not url.startswith("https://"):
        print(
            "smschat-bridge: --url must be the public https:// URL of the bridge "
            "(or use --socket-mode)",
            file=sys.stderr,
        )
        return 2
    print(manifest_for_url(url), end="")
    return 0


async def warn_of_setup_problems(bridge: Bridge) -> None:
    """What `doctor` would find wrong with the token and the channels, one warning each;
    the bridge runs on (Slack may only be out for a moment)."""
    from bridge.doctor import start_checks

    try:
        problems = await asyncio.wait_for(start_checks(bridge), START_CHECKS_SECONDS)
    except TimeoutError:
        log.warning("Slack did not answer the start-up checks; run `smschat-bridge doctor`")
        return
    for problem in problems:
        log.warning("%s", problem.line())


async def serve(settings: Settings) -> int:
    from aiohttp import web

    from bridge.app import build_bridge
    from bridge.web_app import build_web_app

    stopping = stop_requests()
    try:
        bridge = await build_bridge(settings)
    except ConfigError as exc:
        print(f"smschat-bridge: {exc}", file=sys.stderr)
        return 2
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
    try:
        await bridge.start_background()
    except ConfigError as exc:
        print(f"smschat-bridge: {exc}", file=sys.stderr)
        await runner.cleanup()
        await bridge.close()
        return 1
    await warn_of_setup_problems(bridge)
    # What start-up built (modules, the ORM's mappings, Bolt) lives as long as the process:
    # kept out of the collector's full passes, which otherwise stopped the loop for 30 to
    # 120 ms to find a few dozen objects.
    gc.freeze()
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
    await stopping.wait()
    log.info("stopping")
    if socket_mode is not None:
        await socket_mode.close_async()
    await runner.cleanup()
    await bridge.close()
    return 0
