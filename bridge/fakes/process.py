"""`python -m bridge run` as a child process: for tests that kill it or read its logs, and
for benchmarks that measure it as it runs in production."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp


class BridgeProcess:
    """One `python -m bridge run` with the given environment; stderr goes to `log_path`."""

    def __init__(self, env: dict[str, str], *, cwd: Path, log_path: Path) -> None:
        self.env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env}
        self.cwd = cwd
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, *, ready_within: float = 30.0) -> None:
        """Start it and wait until /healthz answers 200 (or the process dies)."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge",
                "run",
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        async with aiohttp.ClientSession() as http, asyncio.timeout(ready_within):
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"bridge exited with {self.process.returncode}:\n{self.log}")
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as when a machine loses power."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self, *, grace: float = 15.0) -> int | None:
        """SIGTERM and wait for a clean exit; SIGKILL if it does not come."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()
        return self.process.returncode

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
