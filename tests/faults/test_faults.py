"""Failure behaviour with real processes (docs/DESIGN.md "Failure behaviour"): the broker stopped
during intake, a worker killed mid-batch, the database cut under load, two workers at once.
Web is gunicorn, workers are Celery prefork processes, Redis is a private redis-server, and the
database sits behind a TCP proxy the test cuts; all on 127.0.0.1, each wait bounded."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Count, QuerySet
from rest_framework.authtoken.models import Token

from apps.leads.models import Lead, LeadStatus
from apps.routing.models import Assignment, AssignmentKind, OutboxKind, OutboxMessage
from tests.faults.harness import Portal, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.faults]


def _post(portal: Portal, token: str, n: int) -> tuple[int, dict[str, object]]:
    body = json.dumps(
        {
            "email": f"fault{n}@example{n % 7}.com",
            "company": f"Fault {n}",
            "country": "US",
            "region": "US-CA",
            "company_size": 5000,
        }
    ).encode()
    request = urllib.request.Request(
        f"{portal.base_url}/api/leads/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def token(webform) -> str:  # type: ignore[no-untyped-def]
    return Token.objects.create(user=webform).key


def _routed(expected: int) -> bool:
    return Lead.objects.filter(status=LeadStatus.ASSIGNED).count() >= expected


def _assert_each_routed_once(leads: int) -> None:
    assert Lead.objects.count() == leads
    assert Lead.objects.filter(status=LeadStatus.ASSIGNED).count() == leads
    per_lead = Counter(
        Assignment.objects.filter(kind=AssignmentKind.AUTO).values_list("lead_id", flat=True)
    )
    assert len(per_lead) == leads and set(per_lead.values()) == {1}
    # Round robin over alice, bob and carol stayed exact: no rotation step lost or doubled.
    per_rep = sorted(
        Lead.objects.values("owner").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert per_rep[-1] - per_rep[0] <= 1, per_rep


def test_redis_stopped_during_intake(faults_portal: Portal, token: str) -> None:
    portal = faults_portal
    portal.web()
    portal.worker()
    assert {_post(portal, token, n)[0] for n in range(5)} == {201}
    wait_for(lambda: _routed(5), timeout=60, what="the first leads to be routed")

    portal.redis.stop()  # type: ignore[attr-defined]
    during = [_post(portal, token, n) for n in range(5, 15)]
    assert [status for status, _ in during] == [201] * 10  # intake never fails on the broker
    assert Lead.objects.count() == 15  # every lead saved
    assert Lead.objects.filter(status=LeadStatus.NEW).count() == 10

    portal.redis.start()  # type: ignore[attr-defined]

    def safety_net() -> bool:
        # What beat runs every minute. It takes leads `new` for longer than the grace period
        # (1 s here), so a run that starts within a second of the last intake leaves the
        # youngest for the next run, as beat's next tick would.
        portal.manage("route_pending")
        return _routed(15)

    wait_for(safety_net, timeout=60, every=1.0, what="the leads saved during the outage")
    _assert_each_routed_once(15)
    # Every assignment mail owed is sent exactly once once the broker is back.
    wait_for(
        lambda: not OutboxMessage.objects.exclude(status="sent").exists(),
        timeout=90,
        what="the outbox to drain",
    )
    mails = OutboxMessage.objects.filter(kind=OutboxKind.ASSIGNED_MAIL)
    assert sorted(mails.values_list("lead_id", flat=True)) == sorted(
        Lead.objects.values_list("pk", flat=True)
    )
    assert len(list((portal.var_dir / "mail").glob("*.eml"))) == mails.count() == 15


def test_a_worker_killed_mid_batch(faults_portal: Portal, token: str) -> None:
    portal = faults_portal
    portal.web()
    # The leads queue up first, then a worker starts on them and is killed with SIGKILL while
    # it routes: its unacknowledged tasks die with it.
    assert {_post(portal, token, n)[0] for n in range(60)} == {201}
    worker = portal.worker("doomed")
    wait_for(
        lambda: Lead.objects.exclude(status=LeadStatus.NEW).exists(),
        timeout=60,
        what="the worker to start routing",
        every=0.02,
    )
    portal.kill(worker, signal.SIGKILL)
    left = Lead.objects.filter(status=LeadStatus.NEW).count()

    portal.worker("rescuer")
    portal.manage("route_pending")  # leads whose task died are routed by the safety net
    wait_for(lambda: _routed(60), timeout=90, what="every lead to be routed after the kill")
    _assert_each_routed_once(60)
    assert left >= 0  # (how many the kill left is up to timing; none is lost or doubled)


def _assert_whole(leads: QuerySet[Lead]) -> None:
    for email, domain, company in leads.values_list("email", "email_domain", "company"):
        n = int(email.split("@")[0].removeprefix("fault"))
        assert (domain, company) == (f"example{n % 7}.com", f"Fault {n}")


def _get(portal: Portal, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"{portal.base_url}{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_database_cut_under_load(faults_portal: Portal, token: str) -> None:
    portal = faults_portal
    portal.web()
    proxy = portal.proxy  # type: ignore[attr-defined]

    def batch(numbers: range) -> list[tuple[int, dict[str, object]]]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda n: _post(portal, token, n), numbers))

    before = batch(range(0, 20))
    proxy.cut()
    during = batch(range(20, 40))
    health = _get(portal, "/healthz")
    proxy.restore()
    after = batch(range(40, 60))  # the same processes: no restart

    assert [status for status, _ in before] == [201] * 20
    assert [status for status, _ in during] == [503] * 20  # a clear answer, never a 500
    assert all(isinstance(body.get("detail"), str) and body["detail"] for _, body in during)
    assert health[0] == 503 and health[1]["status"] == "unavailable"
    assert [status for status, _ in after] == [201] * 20
    # Nothing half-written: exactly the accepted leads, each with its creation record.
    accepted = {body["id"] for status, body in before + after if status == 201}
    assert set(Lead.objects.values_list("pk", flat=True)) == accepted
    _assert_whole(Lead.objects.all())


def test_the_database_cut_while_requests_are_in_flight(faults_portal: Portal, token: str) -> None:
    portal = faults_portal
    portal.web()
    proxy = portal.proxy  # type: ignore[attr-defined]
    timer = threading.Timer(0.5, proxy.cut)
    timer.start()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: _post(portal, token, n), range(120)))
    timer.join()
    proxy.restore()
    assert {status for status, _ in results} <= {201, 503}
    accepted = {body["id"] for status, body in results if status == 201}
    stored = set(Lead.objects.values_list("pk", flat=True))
    assert accepted <= stored  # every lead we were told was saved is saved
    # ...and every stored lead is whole (a commit whose answer the cut swallowed may exist).
    _assert_whole(Lead.objects.all())
    assert _post(portal, token, 999)[0] == 201  # and the portal recovered on its own


def test_two_workers_and_the_safety_net_at_once_route_each_lead_once(
    faults_portal: Portal, token: str
) -> None:
    portal = faults_portal
    portal.web()
    portal.worker("one")
    portal.worker("two")
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda n: _post(portal, token, n)[0], range(80)))
        # The beat's safety net runs while the workers route the same leads.
        pool.submit(portal.manage, "route_pending")
    assert statuses == [201] * 80
    wait_for(lambda: _routed(80), timeout=90, what="every lead to be routed")
    _assert_each_routed_once(80)


def test_a_workers_database_connection_killed_between_two_tasks(
    faults_portal: Portal, token: str
) -> None:
    """route_lead runs without Django's per-task health check (a SELECT 1): a connection the
    database ended between two tasks fails the next task's first statement, which reconnects and
    routes its lead. No safety net runs here: the task itself must route it."""
    portal = faults_portal
    portal.web()
    portal.worker("single", concurrency=1)  # one process: the next task gets the dead connection
    assert _post(portal, token, 0)[0] == 201
    wait_for(lambda: _routed(1), timeout=60, what="the first lead to be routed")
    wait_for(
        lambda: not OutboxMessage.objects.exclude(status="sent").exists(),
        timeout=60,
        what="the first lead's mail (no other task runs before the next lead's)",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        assert cursor.fetchall()  # the worker's and the web's connections
    assert _post(portal, token, 1)[0] == 201
    wait_for(lambda: _routed(2), timeout=60, what="the lead routed after the kill")
    _assert_each_routed_once(2)
    assert "the database connection was gone; reconnecting" in portal.log("worker-single")
