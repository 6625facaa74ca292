"""The user admin cannot be used to escalate: crafted POSTs are ignored or refused.

Superusers keep Django's user admin. A RevOps manager may invite, (de)activate, rename and
change the role (rep / manager) of people no more privileged than themselves, and mail them a
link to choose a password; nothing else.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.reps.models import Rep

pytestmark = pytest.mark.django_db

MANAGERS = "RevOps managers"


def _url(action, *args):
    return reverse(f"admin:auth_user_{action}", args=args)


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "root-pw-1")


@pytest.fixture
def boss(db):
    user = User.objects.create_user("boss", "boss@example.com", "boss-pw-1", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGERS))
    return user


@pytest.fixture
def boss_client(boss):
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def alice(db):
    user = User.objects.create_user("alice", "alice@example.com", "alice-pw-1", first_name="Al")
    Rep.objects.create(user=user)
    return user


@pytest.fixture
def integration(db):
    user = User.objects.create_user("webform", "webform@example.com", "webform-pw-1")
    user.user_permissions.add(
        Permission.objects.get(codename="add_lead", content_type__app_label="leads")
    )
    return user


def _change_data(user, **overrides):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": "rep",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def _escalation(**extra):
    """Everything a manager must not be able to set, as a crafted form would send it."""
    perm = Permission.objects.get(codename="delete_user")
    admins = Group.objects.get_or_create(name="Admins")[0]
    admins.permissions.add(perm)
    return {
        "username": "hijacked",
        "is_superuser": "on",
        "is_staff": "on",
        "groups": [admins.pk],
        "user_permissions": [perm.pk],
        "password": "pbkdf2_sha256$1$x$y",
        "password1": "Crafted-pw-123",
        "password2": "Crafted-pw-123",
        "usable_password": "true",
        **extra,
    }


def test_crafted_privileges_in_a_change_are_ignored(boss_client, alice):
    before = alice.password
    data = {**_change_data(alice, first_name="Alice"), **_escalation()}
    response = boss_client.post(_url("change", alice.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.first_name == "Alice"
    assert alice.username == "alice"
    assert not alice.is_superuser and not alice.is_staff
    assert list(alice.groups.all()) == []
    assert list(alice.user_permissions.all()) == []
    assert alice.password == before


def test_manager_cannot_escalate_themselves(boss_client, boss):
    data = {
        **_change_data(boss, first_name="Big", role="manager", is_active="on"),
        **_escalation(),
    }
    response = boss_client.post(_url("change", boss.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    boss.refresh_from_db()
    assert boss.first_name == "Big"
    assert not boss.is_superuser
    assert list(boss.groups.values_list("name", flat=True)) == [MANAGERS]
    assert list(boss.user_permissions.all()) == []


def test_manager_cannot_demote_or_deactivate_themselves(boss_client, boss):
    boss_client.post(_url("change", boss.pk), _change_data(boss, role="rep", is_active=""))
    boss.refresh_from_db()
    assert boss.is_active and boss.is_staff
    assert boss.groups.filter(name=MANAGERS).exists()
    boss_client.post(_url("changelist"), {"action": "deactivate", "_selected_action": [boss.pk]})
    boss.refresh_from_db()
    assert boss.is_active


def test_manager_cannot_see_or_touch_a_superuser(boss_client, root):
    assert "root@example.com" not in boss_client.get(_url("changelist")).content.decode()
    page = boss_client.get(_url("change", root.pk))
    assert page.status_code == 302  # "does not exist" for them
    assert "pbkdf2" not in page.content.decode()
    posted = boss_client.post(
        _url("change", root.pk), {**_change_data(root, email="boss@example.com", is_active="")}
    )
    assert posted.status_code == 302
    password = boss_client.post(
        _url("password_change", root.pk),
        {"password1": "Taken-over-123", "password2": "Taken-over-123", "usable_password": "true"},
    )
    assert password.status_code == 403
    boss_client.post(_url("changelist"), {"action": "deactivate", "_selected_action": [root.pk]})
    boss_client.post(
        _url("changelist"), {"action": "send_password_link", "_selected_action": [root.pk]}
    )
    root.refresh_from_db()
    assert root.email == "root@example.com" and root.is_active
    assert root.check_password("root-pw-1")
    assert mail.outbox == []


def test_manager_cannot_touch_a_more_privileged_account(boss_client):
    powerful = User.objects.create_user("ops", "ops@example.com", is_staff=True)
    powerful.user_permissions.add(Permission.objects.get(codename="delete_user"))
    assert boss_client.get(_url("change", powerful.pk)).status_code == 302
    boss_client.post(_url("change", powerful.pk), _change_data(powerful, email="me@evil.test"))
    powerful.refresh_from_db()
    assert powerful.email == "ops@example.com"


def test_nobody_but_a_superuser_sets_a_password(boss_client, alice, root):
    before = alice.password
    for method in ("get", "post"):
        response = getattr(boss_client, method)(
            _url("password_change", alice.pk),
            {"password1": "Chosen-pw-123", "password2": "Chosen-pw-123", "usable_password": "true"},
        )
        assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.password == before
    # The superuser keeps the stock admin, password page and flags included.
    client = Client()
    client.force_login(root)
    assert client.get(_url("password_change", alice.pk)).status_code == 200
    assert 'name="is_superuser"' in client.get(_url("change", alice.pk)).content.decode()


def test_manager_change_page_offers_only_the_allowed_fields(boss_client, alice):
    body = boss_client.get(_url("change", alice.pk)).content.decode()
    for name in ("first_name", "last_name", "email", "role", "is_active"):
        assert f'name="{name}"' in body
    for name in ("is_superuser", "is_staff", "groups", "user_permissions", "password", "username"):
        assert f'name="{name}"' not in body
    assert "pbkdf2" not in body


def test_invite_sends_a_link_and_sets_no_password(boss_client, django_capture_on_commit_callbacks):
    data = {
        **_escalation(),
        "username": "dana",
        "first_name": "Dana",
        "last_name": "Diaz",
        "email": "dana@example.com",
        "role": "manager",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = boss_client.post(_url("add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    dana = User.objects.get(username="dana")
    assert not dana.has_usable_password()
    assert dana.is_staff and not dana.is_superuser
    assert list(dana.groups.values_list("name", flat=True)) == [MANAGERS]
    assert list(dana.user_permissions.all()) == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana@example.com"]
    link = re.search(r"https?://\S+/accounts/reset/\S+/", message.body).group(0)

    # The invitee chooses a password through Django's reset views and can then sign in.
    client = Client()
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Dana-chose-123", "new_password2": "Dana-chose-123"},
    )
    assert done.status_code == 302
    dana.refresh_from_db()
    assert dana.check_password("Dana-chose-123")


def test_invite_needs_an_email(boss_client):
    response = boss_client.post(
        _url("add"), {"username": "erin", "first_name": "E", "email": "", "role": "rep"}
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="erin").exists()


def test_role_change_sets_group_and_staff(boss_client, alice):
    boss_client.post(_url("change", alice.pk), _change_data(alice, role="manager"))
    alice.refresh_from_db()
    assert alice.is_staff and alice.groups.filter(name=MANAGERS).exists()
    boss_client.post(_url("change", alice.pk), _change_data(alice, role="rep"))
    alice.refresh_from_db()
    assert not alice.is_staff and not alice.groups.exists()


def test_actions_send_a_reset_link_and_deactivate(
    boss_client, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        boss_client.post(
            _url("changelist"), {"action": "send_password_link", "_selected_action": [alice.pk]}
        )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "/accounts/reset/" in mail.outbox[0].body
    alice.refresh_from_db()
    assert alice.check_password("alice-pw-1")  # a link, not a new password
    boss_client.post(_url("changelist"), {"action": "deactivate", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert not alice.is_active
    boss_client.post(_url("changelist"), {"action": "reactivate", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert alice.is_active


@pytest.mark.parametrize("role", ["manager", "rep", "integration", "staff_integration", "anon"])
@pytest.mark.parametrize("page", ["changelist", "add", "change", "password_change"])
def test_user_admin_access_by_role(role, page, boss, alice, integration):
    client = Client()
    if role == "manager":
        client.force_login(boss)
    elif role == "rep":
        client.force_login(alice)
    elif role in ("integration", "staff_integration"):
        # A staff flag left on an integration account opens nothing: the role decides.
        integration.is_staff = role == "staff_integration"
        integration.save()
        client.force_login(integration)
    args = (alice.pk,) if page in ("change", "password_change") else ()
    response = client.get(_url(page, *args))
    if role == "manager":
        assert response.status_code == (403 if page == "password_change" else 200)
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    if role in ("rep", "integration", "staff_integration"):
        # ...nor any other admin page (e.g. adding leads with `leads.add_lead`).
        assert client.get(reverse("admin:leads_lead_add")).status_code == 302
        assert client.get(reverse("admin:index")).status_code == 302


def test_config_document_cannot_rewrite_a_superusers_login(root, boss, west_org):
    """A rep item rewrites its login's name and email; a manager may not aim it at root."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(boss)
    item = {"username": "root", "name": "Root", "email": "boss@example.com"}
    created = client.post("/api/reps/", item, format="json")
    assert created.status_code == 400
    assert "root" in str(created.json()) and "may not edit" in str(created.json())
    document = client.get("/api/routing/config/").json()
    document["reps"].append(item)
    replaced = client.put("/api/routing/config/", document, format="json")
    assert replaced.status_code == 400
    assert next(iter(replaced.json()["reps"].values()))["username"][0].startswith("'root' is")
    root.refresh_from_db()
    assert root.email == "root@example.com" and not Rep.objects.filter(user=root).exists()
    # ...while a manager may still make an ordinary login a rep.
    assert (
        client.post("/api/reps/", {"username": "alice2", "name": "A"}, format="json").status_code
        == 201
    )
