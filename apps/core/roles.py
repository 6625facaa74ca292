"""Who is a manager, who is a rep (API.md "Roles")."""

from __future__ import annotations

from typing import Any

from django.db import models

MANAGERS_GROUP = "RevOps managers"


#: How long a user's manager status is remembered per process (saves a query on every request).
MANAGER_CACHE_SECONDS = 30


def user_is_manager(user: Any) -> bool:
    """A superuser or a member of the `RevOps managers` group.

    Group membership is cached briefly, so a change of role takes effect within
    MANAGER_CACHE_SECONDS; intake requests then cost no extra query.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_revops_manager", None)
    if cached is None:
        from django.core.cache import cache

        key = f"revops-manager:{user.pk}"
        cached = cache.get(key)
        if cached is None:
            cached = user.groups.filter(name=MANAGERS_GROUP).exists()
            cache.set(key, cached, MANAGER_CACHE_SECONDS)
        user._is_revops_manager = cached
    return bool(cached)


#: The permission an integration account needs to submit leads (API.md "Roles").
SUBMIT_LEADS_PERMISSION = "leads.add_lead"


def user_may_submit_leads(user: Any) -> bool:
    """A manager, or an account granted `leads.add_lead` (web forms, CRMs).

    Cached like manager status: Django's permission check reads the user's and their groups'
    permissions from the database on every request (a token-authenticated user is loaded
    afresh each time), about half of an intake request's work. A grant or a revocation takes
    effect within MANAGER_CACHE_SECONDS, at once when the user admin saves the account.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if user_is_manager(user):
        return True
    cached = getattr(user, "_may_submit_leads", None)
    if cached is None:
        from django.core.cache import cache

        key = f"may-submit-leads:{user.pk}"
        cached = cache.get(key)
        if cached is None:
            cached = bool(user.is_active and user.has_perm(SUBMIT_LEADS_PERMISSION))
            cache.set(key, cached, MANAGER_CACHE_SECONDS)
        user._may_submit_leads = cached
    return bool(cached)


def user_rep(user: Any) -> Any | None:
    """The Rep linked to this user, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.rep
    except Exception:  # RelatedObjectDoesNotExist
        return None


#: What a manager may do in the admin: app label -> actions on every model of that app.
MANAGER_GRANTS: dict[str, tuple[str, ...]] = {
    "territories": ("add", "change", "delete", "view"),
    "reps": ("add", "change", "delete", "view"),
    "accounts": ("add", "change", "delete", "view"),
    "rules": ("add", "change", "delete", "view"),
    "leads": ("add", "change", "view"),
    "configuration": ("view",),
    "routing": ("view",),
    "notifications": ("add", "change", "delete", "view"),
    # not django_celery_beat: the schedule is the system's own (superusers; migration core 0002)
}
MANAGER_EXTRA_PERMISSIONS = ("auth.add_user", "auth.change_user", "auth.view_user")


def managers_group_ensure(**kwargs: Any) -> None:
    """Keep the `RevOps managers` group and its permissions current (post_migrate).

    The group is created by a migration; this also grants permissions on models added later
    and restores the group after a database flush.
    """
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    group, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    query = Q()
    for label, actions in MANAGER_GRANTS.items():
        query |= Q(content_type__app_label=label, codename__regex=rf"^({'|'.join(actions)})_")
    for dotted in MANAGER_EXTRA_PERMISSIONS:
        label, codename = dotted.split(".")
        query |= Q(content_type__app_label=label, codename=codename)
    group.permissions.add(*Permission.objects.filter(query))


class Role(models.TextChoices):
    """What the user admin lets a manager give a person: nothing beyond a manager's own rights."""

    REP = "rep", "Rep (no admin access)"
    MANAGER = "manager", "RevOps manager"


def user_role(user: Any) -> Role:
    """A person's role as the user admin shows it (superusers count as managers)."""
    return Role.MANAGER if user_is_manager(user) else Role.REP


def role_cache_forget(user: Any) -> None:
    """Drop the cached manager status and lead-submission right: a change takes effect on the next
    request."""
    from django.core.cache import cache

    cache.delete_many([f"revops-manager:{user.pk}", f"may-submit-leads:{user.pk}"])
    for attribute in ("_is_revops_manager", "_may_submit_leads"):
        if hasattr(user, attribute):
            delattr(user, attribute)


def users_manageable(queryset: Any) -> Any:
    """The users a non-superuser manager may see and edit: nobody holding more than a manager.

    Superusers, members of any other group and holders of a raw permission that the managers'
    group lacks are left out, so a manager can neither edit nor take over (by changing an email
    and sending a reset link) an account more privileged than their own.
    """
    from django.contrib.auth.models import Group, Permission

    return (
        queryset.exclude(is_superuser=True)
        .exclude(groups__in=Group.objects.exclude(name=MANAGERS_GROUP))
        .exclude(user_permissions__in=Permission.objects.exclude(group__name=MANAGERS_GROUP))
    )


def user_manageable_by(*, actor: Any, user: Any) -> bool:
    """Whether ``actor`` may edit ``user`` at all: a superuser anyone, a manager per
    :func:`users_manageable`, anyone else no one."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.is_superuser:
        return True
    if not user_is_manager(actor):
        return False
    if user.pk is None:
        return True  # someone being invited holds nothing yet
    model = type(user)
    return bool(users_manageable(model._default_manager.filter(pk=user.pk)).exists())
