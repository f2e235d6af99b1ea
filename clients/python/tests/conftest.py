"""A real ``quiver serve`` on an ephemeral loopback port over a temporary data directory.

The binary is ``$QUIVER_BINARY``, else the repository's ``.build/debug/quiver`` (scripts/test.sh
builds it first).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import tempfile
import threading
import time
from typing import Iterator, List, Optional

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]


class Server:
    def __init__(self, arguments: Optional[List[str]] = None) -> None:
        binary = os.environ.get("QUIVER_BINARY", str(REPOSITORY / ".build/debug/quiver"))
        self.directory = tempfile.TemporaryDirectory(prefix="quiver-pytest-")
        self.process = subprocess.Popen(
            [binary, "serve", "--data-dir", os.path.join(self.directory.name, "data"), "--listen", "127.0.0.1:0", *(arguments or [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.stderr: List[str] = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        deadline = time.monotonic() + 120
        line = ""
        # readline blocks; the deadline is checked by a watchdog that kills a server that never binds.
        watchdog = threading.Timer(120, self.process.kill)
        watchdog.start()
        try:
            while not line.startswith("listening "):
                line = self.process.stdout.readline()
                if not line and self.process.poll() is not None:
                    raise RuntimeError(f"quiver serve exited {self.process.returncode}: {''.join(self.stderr)}")
                if time.monotonic() > deadline:
                    raise RuntimeError("quiver serve did not print its listening line in 120 s")
        finally:
            watchdog.cancel()
        self.address = line.split()[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.directory.cleanup()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def start_server():
    started: List[Server] = []

    def start(arguments: Optional[List[str]] = None) -> Server:
        running = Server(arguments)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
