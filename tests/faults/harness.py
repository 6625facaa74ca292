"""Real processes for the fault tests: a Redis server of their own (so stopping it disturbs no
one else), a TCP proxy in front of PostgreSQL (so the database can be cut and restored), and the
portal's web (gunicorn) and Celery workers, all on 127.0.0.1, all bounded in time."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` after `timeout` seconds (a bound on a
    hung process, not a performance limit)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class RedisServer:
    """A private redis-server on a free port; `stop()` and `start()` as an outage would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=20, what="redis-server to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class TcpProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>. `cut()` drops every connection and refuses new ones
    (the database "goes away"); `restore()` lets them through again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = int(self.listener.getsockname()[1])
        self.open = True
        self.closed = False
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


class Portal:
    """The portal's processes against one database URL and one broker URL."""

    def __init__(self, *, database_url: str, broker_url: str, var_dir: Path) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "routing_portal.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "REDIS_CACHE_URL": broker_url.rsplit("/", 1)[0] + "/1",
            "CELERY_BROKER_URL": broker_url,
            "ROUTING_VAR_DIR": str(var_dir),
            "ROUTING_PENDING_GRACE_SECONDS": "1",
            "ROUTING_BROKER_BREAKER_SECONDS": "1",
            "ROUTING_BROKER_BREAKER_MAX_SECONDS": "2",
            "ROUTING_INTAKE_THROTTLE": "10000/second",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        self.var_dir = var_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.web_port = free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.var_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, children included
        )
        self.processes.append(process)
        return process

    def web(self) -> subprocess.Popen[bytes]:
        process = self._spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "routing_portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--timeout",
                "30",
            ],
            "web",
        )
        wait_for(self._web_answers, timeout=60, what="the web process to answer")
        return process

    def _web_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.web_port), timeout=0.5):
                return True
        except OSError:
            return False

    def worker(self, name: str = "w1", *, concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "routing_portal",
                "worker",
                "-P",
                "prefork",
                f"--concurrency={concurrency}",
                "-Q",
                "routing,notify,sweeps",
                "-n",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            f"worker-{name}",
        )

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def log(self, name: str) -> str:
        path = self.var_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)
        self.processes.clear()
