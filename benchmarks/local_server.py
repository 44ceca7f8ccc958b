"""Starting ``digiskill serve`` for the service benchmarks (``service_load.py``, ``web_pages.py``): a free loopback
port, and waiting until the server answers ``/health``."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(server: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    """Return once ``url/health`` answers 200; exit with the server's log if it stops or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
