"""People: invite, change role, (de)activate, and mail a link to set a password.

Managers run these from the user admin; none of them sets a password or grants anything
beyond the `RevOps managers` group and the staff flag it implies.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import Group
from django.db import transaction

from apps.core.roles import MANAGERS_GROUP, Role, role_cache_forget

__all__ = ["user_invite", "user_password_link_send", "user_role_set", "user_set_active"]

INVITATION_TEMPLATES = ("core/user_invitation_subject.txt", "core/user_invitation_email.txt")
RESET_TEMPLATES = ("core/user_password_reset_subject.txt", "core/user_password_reset_email.txt")


class _OneUserLinkForm(PasswordResetForm):
    """Django's reset-link machinery aimed at one chosen user (not everyone sharing the address),
    including an invited user who has no usable password yet."""

    def __init__(self, *, user: Any) -> None:
        super().__init__(data={"email": user.email})
        self.user = user

    def get_users(self, email: str) -> Any:
        return [self.user] if self.user.is_active and self.user.email else []


def user_password_link_send(
    *, user: Any, domain: str, use_https: bool, invitation: bool = False
) -> bool:
    """Mail ``user`` a one-time link to choose a password (after the transaction commits).

    False when there is no one to mail (inactive, or no email address). The link is Django's
    password-reset link: it expires after PASSWORD_RESET_TIMEOUT and once used.
    """
    if not user.is_active or not user.email:
        return False
    subject, body = INVITATION_TEMPLATES if invitation else RESET_TEMPLATES
    form = _OneUserLinkForm(user=user)
    form.is_valid()

    def send() -> None:
        form.save(
            domain_override=domain,
            use_https=use_https,
            subject_template_name=subject,
            email_template_name=body,
            extra_email_context={"site_name": "Routing Portal"},
        )

    transaction.on_commit(send)
    return True


def user_role_set(*, user: Any, role: str) -> None:
    """Make ``user`` a rep or a RevOps manager: the managers' group and the staff flag (the admin
    needs it) follow the role; other groups and permissions are left as they are."""
    group = Group.objects.get(name=MANAGERS_GROUP)
    manager = role == Role.MANAGER
    if user.is_staff != manager and not user.is_superuser:
        user.is_staff = manager
        user.save(update_fields=["is_staff"])
    if manager:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    role_cache_forget(user)


def user_invite(*, user: Any, role: str, domain: str, use_https: bool) -> Any:
    """Create ``user`` (unsaved, name and email set) with no password, give them ``role`` and
    mail them an invitation link to choose their password."""
    with transaction.atomic():
        user.set_unusable_password()
        user.is_active = True
        user.is_superuser = False
        user.is_staff = False
        user.save()
        user_role_set(user=user, role=role)
        user_password_link_send(user=user, domain=domain, use_https=use_https, invitation=True)
    return user


def user_set_active(*, user: Any, active: bool) -> bool:
    """Activate or deactivate a login; True when it changed. A deactivated user cannot sign in,
    and their tokens and sessions stop working (Django refuses inactive users)."""
    if user.is_active == active:
        return False
    user.is_active = active
    user.save(update_fields=["is_active"])
    role_cache_forget(user)
    return True
