"""Sign-in, sign-out, password reset by mail, and where each role lands."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.test import Client

from apps.demo.logins import DEMO_LOGINS
from tests.factories import RepFactory, UserFactory
from tests.portal.conftest import client_for, csrf_post

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _sign_in(username: str, password: str = PASSWORD, next_url: str = ""):  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(
        client, "/accounts/login/", {"username": username, "password": password, "next": next_url}
    )
    return client, response


def _with_password(user):  # type: ignore[no-untyped-def]
    user.set_password(PASSWORD)
    user.save()
    return user


def test_login_page_is_styled_and_has_a_reset_link() -> None:
    response = Client().get("/accounts/login/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'href="/static/portal/portal' in body or "portal/portal." in body
    assert 'autocomplete="current-password"' in body
    assert "/accounts/password-reset/" in body
    assert "csrfmiddlewaretoken" in body


def test_rep_lands_on_their_queue(rita) -> None:
    _with_password(rita.user)
    client, response = _sign_in("rita")
    assert response.status_code == 302 and response["Location"] == "/start/"
    assert client.get("/start/")["Location"] == "/queue/"
    assert client.get("/queue/").status_code == 200


def test_manager_lands_on_the_dashboards(boss) -> None:
    _with_password(boss)
    client, _ = _sign_in("boss")
    assert client.get("/start/")["Location"] == "/dashboards/response-time/"
    page = client.get("/dashboards/response-time/")
    assert page.status_code == 200
    assert 'href="/queue/unrouted/"' in page.content.decode()  # the way to the managers' queue
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert 'href="/queue/unrouted/"' in admin.content.decode()


def test_integration_account_signs_in_to_nothing(webform) -> None:
    _with_password(webform)
    client, _ = _sign_in("webform")
    response = client.get("/start/")
    assert response.status_code == 403
    assert "no pages" in response.content.decode()


def test_login_honours_a_safe_next_and_ignores_another_host(rita) -> None:
    _with_password(rita.user)
    _, response = _sign_in("rita", next_url="/availability/")
    assert response["Location"] == "/availability/"
    _, response = _sign_in("rita", next_url="https://evil.example/")
    assert response["Location"] == "/start/"


def test_wrong_password_is_a_form_error_not_a_crash(rita) -> None:
    _with_password(rita.user)
    _, response = _sign_in("rita", password="nope")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_login_without_csrf_token_is_refused(rita) -> None:
    _with_password(rita.user)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 403


def test_logout_is_post_only(rita) -> None:
    client = client_for(rita.user)
    assert client.get("/accounts/logout/").status_code == 405
    response = csrf_post(client, "/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/queue/")["Location"].startswith("/accounts/login/?next=/queue/")


def test_home_sends_each_person_to_their_start() -> None:
    assert Client().get("/")["Location"] == "/accounts/login/"


def test_home_for_a_signed_in_rep(rita) -> None:
    assert client_for(rita.user).get("/")["Location"] == "/start/"


def test_password_reset_mails_a_link_that_sets_a_new_password(rita) -> None:
    rita.user.email = "rita@example.com"
    rita.user.save()
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(client, "/accounts/password-reset/", {"email": "rita@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert client.get(response["Location"]).status_code == 200
    [message] = mail.outbox
    assert "reset the password of rita" in message.body
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", message.body)
    assert link is not None
    # The confirm view (apps/core/urls.py) redirects to its set-password URL, then takes it.
    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    set_url = page.redirect_chain[-1][0]
    done = csrf_post(
        client,
        set_url,
        {"new_password1": "a new Passphrase 42", "new_password2": "a new Passphrase 42"},
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert "Sign in" in client.get(done["Location"]).content.decode()
    _, signed_in = _sign_in("rita", password="a new Passphrase 42")
    assert signed_in["Location"] == "/start/"


def test_password_reset_tells_nothing_about_unknown_addresses() -> None:
    response = csrf_post(
        Client(enforce_csrf_checks=True),
        "/accounts/password-reset/",
        {"email": "who@nowhere.example"},
    )
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_bad_address_is_a_form_error() -> None:
    response = csrf_post(
        Client(enforce_csrf_checks=True), "/accounts/password-reset/", {"email": "not an address"}
    )
    assert response.status_code == 200
    assert "valid email" in response.content.decode()


def test_every_readme_demo_login_works() -> None:
    call_command("seed_demo", leads=20, seed=3, verbosity=0)
    dashboards = "/dashboards/response-time/"
    landings = {"admin": dashboards, "manager": dashboards, "rep": "/queue/"}
    for role, username, password in DEMO_LOGINS:
        client, response = _sign_in(username, password=password)
        assert response.status_code == 302, (username, response.content[:300])
        assert client.get("/start/")["Location"] == landings[role], username
        assert client.get(landings[role]).status_code == 200, username


def test_a_manager_who_is_also_a_rep_still_lands_on_the_dashboards() -> None:
    rep = RepFactory(user=UserFactory(username="playercoach", is_staff=True))
    rep.user.groups.add(Group.objects.get(name="RevOps managers"))
    client = client_for(rep.user)
    assert client.get("/start/")["Location"] == "/dashboards/response-time/"
    assert client.get("/queue/").status_code == 200  # and has a queue of their own


def test_a_form_posted_after_the_session_ended_comes_back_to_its_page(rita) -> None:
    from tests.portal.conftest import lead_of

    lead = lead_of(rita)
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(
        client, f"/queue/leads/{lead.pk}/contact/", {"next": "/queue/?status=assigned"}
    )
    assert response["Location"] == "/accounts/login/?next=/queue/%3Fstatus%3Dassigned"
    response = csrf_post(
        client, f"/queue/leads/{lead.pk}/contact/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/accounts/login/?next=/start/"
