"""The pages in a real browser: Playwright driving Debian's Chromium against a live server.

A rep signs in on a phone-sized screen, sees only their leads, logs a contact and converts a
lead in place, books time off, and the next routed lead skips them; a manager reassigns an
unrouted lead with a note. Every page is photographed at desktop and phone widths under
var/test-artefacts/portal/ (git-ignored) for a person to look at.

Skipped, with the reason, when Chromium is not installed; CI (ROUTING_REQUIRE_SERVICES=1)
fails instead. Playwright never downloads a browser here: it launches the system's Chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test.testcases import _StaticFilesHandler
from django.utils import timezone

from apps.leads.models import Lead, LeadStatus
from apps.reps.models import TimeOff
from apps.routing.services import lead_reassign, lead_route
from tests.factories import LeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-passphrase"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTEFACTS = Path(settings.BASE_DIR) / "var" / "test-artefacts" / "portal"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str | None:
    return os.environ.get("PLAYWRIGHT_CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path, missing = None, "the playwright package is not installed (pip install -e '.[dev]')"
    else:
        missing = "Chromium is not installed (apt-get install chromium)"
    if path is None:
        if os.environ.get("ROUTING_REQUIRE_SERVICES") == "1":
            pytest.fail(f"browser tests need {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    # The ORM runs beside Playwright's event loop in this thread: the test drives both. Only
    # for these tests (the deploy check rightly refuses the variable elsewhere).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, settings):  # type: ignore[no-untyped-def]
    # The live server speaks plain HTTP: cookies must not be HTTPS-only for the browser to send them.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Serve the collected (hashed) static files as deployed: pytest-django's live server looks
    # them up through the finders, which know only the unhashed names DEBUG-off pages don't use.
    server = live_server.thread.httpd
    original = server.get_app()
    server.set_app(_StaticFilesHandler(WSGIHandler()))
    yield live_server.url
    server.set_app(original)


def _page(browser: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(
        viewport=viewport,
        is_mobile=viewport["width"] < 500,
        has_touch=viewport["width"] < 500,
        timezone_id="America/Los_Angeles",
        locale="en-US",
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def _sign_in(page: Any, site: str, username: str) -> None:
    page.goto(f"{site}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _with_password(user: Any) -> Any:
    user.set_password(PASSWORD)
    user.save()
    return user


def _hand(lead: Lead, rep: Any, actor: Any, note: str) -> Lead:
    lead_reassign(lead_id=lead.pk, rep=rep, note=note, actor=actor)
    lead.refresh_from_db()
    return lead


def _route_new_enterprise_lead() -> Lead:
    lead = LeadFactory(status="new", country="US", region="US-CA", company_size=5000)
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    return lead


def test_rep_runs_their_day_on_a_phone(browser, site, west_org, manager_user) -> None:
    alice, bob, _carol = west_org["reps"]
    _with_password(alice.user)
    call = _hand(
        LeadFactory(status="unrouted", company="Initech", first_name="Peter", last_name="Gibbons"),
        alice,
        manager_user,
        "West coast lead",
    )
    win = _hand(
        LeadFactory(status="unrouted", company="Acme", first_name="Wile", last_name="Coyote"),
        alice,
        manager_user,
        "Acme is alice's account",
    )
    theirs = _hand(LeadFactory(status="unrouted", company="Globex"), bob, manager_user, "for bob")

    page = _page(browser, PHONE)
    _sign_in(page, site, "alice")
    assert page.url.endswith("/queue/")
    _shot(page, "queue")
    _no_sideways_scroll(page)
    assert page.locator(f"#lead-{call.pk}").is_visible()
    assert page.locator(f"#lead-{win.pk}").is_visible()
    assert page.locator(f"#lead-{theirs.pk}").count() == 0
    assert "Globex" not in page.content()
    assert "West coast lead" in page.inner_text(f"#lead-{call.pk} .why")

    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    card = page.locator(f"#lead-{call.pk}")
    card.locator("summary:has-text('Log first contact')").click()
    card.locator("textarea").fill("Called, wants a demo")
    _shot(page, "queue-contact-form")
    card.locator("button:has-text('Log contact now')").click()
    page.wait_for_selector(f"#lead-{call.pk} .badge:has-text('Contacted')")
    assert "Contact logged." in page.inner_text("#live-messages")
    assert page.locator(f"#lead-{call.pk} summary:has-text('Add a note')").is_visible()

    card = page.locator(f"#lead-{win.pk}")
    card.locator("summary:has-text('Convert')").click()
    card.locator(f"input[name='v{win.pk}-reason']").fill("Signed the annual plan")
    card.locator("button:has-text('Mark converted')").click()
    page.wait_for_selector(f"#lead-{win.pk}", state="detached")
    assert "Converted" in page.inner_text("#live-messages")
    assert page.evaluate("window.__sameDocument") is True
    call.refresh_from_db()
    win.refresh_from_db()
    assert call.status == LeadStatus.CONTACTED and win.status == LeadStatus.CONVERTED

    page.click(f"#lead-{call.pk} h2 a")
    page.wait_for_url(f"**/queue/leads/{call.pk}/")
    assert "Called, wants a demo" in page.inner_text(".timeline")
    _shot(page, "lead")
    _no_sideways_scroll(page)

    # Time off from an hour ago for two days, typed in alice's own zone.
    page.click("nav >> text=Availability")
    page.wait_for_url("**/availability/")
    zone = ZoneInfo(alice.time_zone)
    now = timezone.now()
    page.fill(
        "#id_starts_at", (now - timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    )
    page.fill("#id_ends_at", (now + timedelta(days=2)).astimezone(zone).strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#id_reason", "training")
    page.click("button:has-text('Book time off')")
    page.wait_for_selector(".message:has-text('Time off booked')")
    _shot(page, "availability")
    _no_sideways_scroll(page)
    period = TimeOff.objects.get(rep=alice)
    assert abs((period.starts_at - (now - timedelta(hours=1))).total_seconds()) < 120

    # The next leads routed to her team skip her.
    seen: list[dict[str, Any]] = []
    for _ in range(3):
        routed = _route_new_enterprise_lead()
        assert routed.status == LeadStatus.ASSIGNED
        assert routed.owner_id != alice.pk
        # Round robin lists the reps it passed on the way to its pick: her turn comes round.
        trace = routed.assignments.get().trace
        seen += [
            c
            for rule in trace["rules"]
            for c in rule.get("candidates", [])
            if c.get("rep") == alice.user.username
        ]
    assert seen and all(c["code"] == "time_off" and not c["eligible"] for c in seen), seen
    page.context.close()


def test_manager_reassigns_an_unrouted_lead_with_a_note(
    browser, site, west_org, manager_user
) -> None:
    _with_password(manager_user)
    lead = LeadFactory(status="new", country="FR", company="Le Bistro", first_name="Amélie")
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.UNROUTED

    page = _page(browser, DESKTOP)
    _sign_in(page, site, "manager")
    page.goto(f"{site}/queue/unrouted/")
    row = page.locator(f"#lead-{lead.pk}")
    assert "Why it waits" in row.inner_text()
    _shot(page, "unrouted")
    row.locator("input[name=rep]").fill("bob")
    row.locator("input[name=note]").fill("Bob covers France this quarter")
    row.locator("button:has-text('Reassign')").click()
    page.wait_for_selector(f"#lead-{lead.pk}", state="detached")
    assert "Reassigned to" in page.inner_text("#live-messages")
    lead.refresh_from_db()
    assert lead.owner.user.username == "bob"
    assert (
        lead.assignments.get().reason
        == "Reassigned by manager to bob: Bob covers France this quarter"
    )

    page.goto(f"{site}/queue/leads/{lead.pk}/")
    assert "Bob covers France this quarter" in page.inner_text(".lead-side")
    assert f"Why {lead.owner.name} got it" in page.inner_text(".lead-card")
    _shot(page, "lead-manager")
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_photographed(browser, site, west_org, manager_user, viewport) -> None:
    alice = west_org["reps"][0]
    _with_password(alice.user)
    _with_password(manager_user)
    now = timezone.now()
    overdue = _hand(
        LeadFactory(
            status="unrouted", company="Umbrella", lead_source="webinar", phone="+1 415 555 0100"
        ),
        alice,
        manager_user,
        "Umbrella is in US-WEST",
    )
    Lead.objects.filter(pk=overdue.pk).update(sla_due_at=now - timedelta(minutes=7))
    _hand(
        LeadFactory(status="unrouted", company="Hooli", lead_source="ads"),
        alice,
        manager_user,
        "Round robin among 3 reps",
    )
    TimeOff.objects.create(
        rep=alice,
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=9),
        reason="vacation",
        source="rep",
    )
    LeadFactory(status="new", country="FR", company="Le Bistro")
    lead_route(lead_id=Lead.objects.get(company="Le Bistro").pk)
    west_org["reps"][1].away = True
    west_org["reps"][1].save()

    anonymous = _page(browser, viewport)
    anonymous.goto(f"{site}/accounts/login/")
    _shot(anonymous, "login")
    _no_sideways_scroll(anonymous)
    anonymous.goto(f"{site}/accounts/password-reset/")
    _shot(anonymous, "password-reset")
    anonymous.context.close()

    rep = _page(browser, viewport)
    _sign_in(rep, site, "alice")
    for name, path in (
        ("queue", "/queue/"),
        ("lead", f"/queue/leads/{overdue.pk}/"),
        ("availability", "/availability/"),
    ):
        rep.goto(f"{site}{path}")
        _shot(rep, f"page-{name}")
        _no_sideways_scroll(rep)
    rep.goto(f"{site}/queue/")
    assert "overdue by 7 min" in rep.inner_text(f"#lead-{overdue.pk} .sla")
    rep.goto(f"{site}/queue/unrouted/")
    assert "Not for this account" in rep.content()
    rep.context.close()

    manager = _page(browser, viewport)
    _sign_in(manager, site, "manager")
    manager.goto(f"{site}/queue/unrouted/")
    _shot(manager, "page-unrouted")
    _no_sideways_scroll(manager)
    manager.context.close()
