"""What the benchmarks share: the bridge's settings against the fakes, and the bridge as a
child process (`python -m bridge run`) as it runs in production."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bridge.fakes.process import BridgeProcess

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose bridge is measured
BOT_TOKEN = "xoxb-bench-0123456789"
INBOX, STAFF = "C0BENCH", "U0STAFF"
OUR_NUMBER = "447700900000"  # as Vonage writes numbers: digits, no '+'


def bridge_values(
    *,
    slack: Any,
    vonage: Any,
    url: str,
    slack_secret: str,
    sms_secret: str,
    vonage_secret: str,
    **overrides: Any,
) -> dict[str, Any]:
    """Settings (by field name) for a bridge talking to these fakes; `overrides` win."""
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": slack_secret,
        "slack_channel": INBOX,
        "slack_api_url": slack.base_url,
        "vonage_api_key": vonage.api_key,
        "vonage_api_secret": vonage_secret,
        "vonage_signature_secret": sms_secret,
        "vonage_signature_method": "sha256",
        "vonage_numbers": "+" + OUR_NUMBER,
        "vonage_rest_host": vonage.host,
        "vonage_api_host": vonage.host,
        "database_url": url,
        "log_level": "WARNING",
    }
    return values | overrides


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process from /proc/PID/status, in KiB: VmRSS is what it holds
    resident now, VmHWM the most it ever held."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def bridge_process(values: dict[str, Any], *, log_path: Path, ca_bundle: Path) -> BridgeProcess:
    """`python -m bridge run` from this checkout on a free port, configured by `values`."""
    port = free_port()
    env = {
        "SSL_CERT_FILE": str(ca_bundle),  # the bridge trusts the fake Vonage's CA
        **{name.upper(): str(value) for name, value in values.items()},
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    return BridgeProcess(env, cwd=ROOT, log_path=log_path)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """What the figures were measured on, as each report opens with it."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser with the options every benchmark takes: the store, and JSON output."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db "
        "(default: a new SQLite file in a temporary directory)",
    )
    parser.add_argument(
        "--reset-schema",
        action="store_true",
        help="PostgreSQL: drop and recreate the public schema first (destroys its data)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run_bench(
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace, Path], Awaitable[dict[str, Any]]],
    render: Callable[[dict[str, Any]], str],
    *,
    log_level: int = logging.WARNING,
) -> int:
    """Measure in a scratch directory, then print the report (as text, or JSON)."""
    logging.basicConfig(level=log_level)
    with tempfile.TemporaryDirectory(prefix="smschat-bench-") as workdir:
        report = asyncio.run(measure(args, Path(workdir)))
    print(json.dumps(report) if args.json else render(report))
    return 0
