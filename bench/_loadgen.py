"""The load test's instruments: an open-loop HTTP client and a sampler of worker memory.

Stdlib only (asyncio streams, /proc), so nothing is installed or downloaded to run bench/load.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"

# --- what is measured ---------------------------------------------------------------------------


@dataclass
class Response:
    index: int
    scheduled: float  # seconds from the start of the schedule
    done: float
    status: int  # 0: connection refused or reset; -1: no answer within --timeout
    lead_id: int | None

    @property
    def ms(self) -> float:
        return (self.done - self.scheduled) * 1000


@dataclass
class Sample:
    at: float
    pool_kb: dict[int, int]
    web_kb: dict[int, int]
    new: int
    queued: int


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def children(leader: int) -> list[int]:
    """Processes forked by `leader` in its own process group: the Celery pool, gunicorn's workers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid, pgrp = (int(v) for v in stat.rsplit(")", 1)[1].split()[1:3])
        if ppid == leader and pgrp == leader:
            found.append(int(entry))
    return sorted(found)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Every `every` seconds: RSS of the workers' children, leads waiting `new`, queue depth."""

    def __init__(self, *, workers: list[int], web: int, start: float, every: float) -> None:
        super().__init__(daemon=True)
        self.workers, self.web, self.start_at, self.every = workers, web, start, every
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def take(self) -> Sample:
        from django.conf import settings
        from redis import Redis

        from apps.leads.models import Lead

        queued = Redis.from_url(settings.REDIS_URL).llen("routing")
        sample = Sample(
            at=time.monotonic() - self.start_at,
            pool_kb={pid: rss_kb(pid) for leader in self.workers for pid in children(leader)},
            web_kb={pid: rss_kb(pid) for pid in children(self.web)},
            new=Lead.objects.filter(status="new").count(),
            queued=int(queued),
        )
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        from django.db import connection

        try:
            n = 0
            while not self.stopping.wait(
                max(0.0, self.start_at + n * self.every - time.monotonic())
            ):
                self.take()
                n += 1
        finally:
            connection.close()


# --- the open-loop client -----------------------------------------------------------------------


async def post(port: int, token: str, body: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        head = (
            f"POST /api/leads/ HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await reader.read()  # gunicorn's sync workers close after each response
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def schedule(
    port: int, token: str, bodies: list[bytes], rate: float, start: float, timeout: float
) -> list[Response]:
    """Send bodies[i] at start + i / rate, each in its own task, whatever the others are doing."""

    async def one(index: int, body: bytes) -> Response:
        scheduled = index / rate
        status, lead_id = -1, None
        try:
            status, answer = await asyncio.wait_for(post(port, token, body), timeout)
            if status in (200, 201):
                lead_id = json.loads(answer)["id"]
        except TimeoutError:
            status = -1
        except (OSError, ValueError, IndexError):
            status = 0
        return Response(index, scheduled, time.monotonic() - start, status, lead_id)

    tasks = []
    for index, body in enumerate(bodies):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(index, body)))
    return list(await asyncio.gather(*tasks))
