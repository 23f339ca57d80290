"""The Python side of ``driver.js``: a real ResClient in Node, commanded over its stdin and stdout."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from res_protocol import ResError

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
NPM = shutil.which("npm")
#: How long to wait for an answer or an event (seconds).
WAIT = 10.0


def install_node_modules(folder: Path = HERE) -> None:
    """``npm ci`` from the committed lock file, once, when ``node_modules`` is missing."""
    if not (folder / "node_modules").is_dir():
        subprocess.run([NPM or "npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=True)


class NodeResClient:
    """One ResClient connected to ``url``; commands return the driver's answer, events are queued."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self.lines: list[str] = []
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str) -> NodeResClient:
        process = await asyncio.create_subprocess_exec(
            NODE or "node",
            str(HERE / "driver.js"),
            url,
            cwd=HERE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode().strip()
            self.lines.append(line)
            msg = json.loads(line)
            future = self._pending.pop(msg.get("id", -1), None)
            if future is not None:
                future.set_result(msg)
            else:
                async with self._arrived:
                    self.events.append(msg)
                    self._arrived.notify_all()

    async def command(self, op: str, **args: Any) -> Any:
        """Send one command; return its ``ok`` value or raise its error as a :class:`ResError`."""
        assert self.process.stdin is not None
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        self.process.stdin.write(json.dumps({"id": self._next_id, "op": op, **args}).encode() + b"\n")
        await self.process.stdin.drain()
        reply = await asyncio.wait_for(future, WAIT)
        if "error" in reply:
            raise ResError.from_dict(reply["error"])
        return reply["ok"]

    async def get(self, rid: str) -> Any:
        return await self.command("get", rid=rid)

    async def call(self, rid: str, method: str, params: Any = None) -> Any:
        return await self.command("call", rid=rid, method=method, params=params)

    async def auth(self, rid: str, method: str, params: Any = None) -> Any:
        return await self.command("auth", rid=rid, method=method, params=params)

    async def state(self, rid: str) -> Any:
        return await self.command("state", rid=rid)

    async def next_event(self, wait: float = WAIT, **match: Any) -> dict[str, Any]:
        """Take the first printed event (or connection state line) whose keys equal ``match``."""
        async with asyncio.timeout(wait), self._arrived:
            while True:
                for i, event in enumerate(self.events):
                    if all(event.get(k) == v for k, v in match.items()):
                        return self.events.pop(i)
                await self._arrived.wait()

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()
