"""The user admin: superusers get Django's own; a RevOps manager gets one that cannot escalate.

A manager may invite a person (no password: an invitation link is mailed), edit their name,
email and role (rep or manager), deactivate or reactivate them and mail them a link to choose
a new password. Nothing else: no superuser or staff flag, no groups or raw permissions, no
password set by hand, no account more privileged than a manager's (superusers included: not
even shown), and no change to their own role or active flag. Every rule is enforced here on
the server (queryset, permissions, forms, the password URL), not by hiding inputs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse

from apps.core.roles import (
    MANAGERS_GROUP,
    Role,
    role_cache_forget,
    user_manageable_by,
    users_manageable,
)
from apps.core.services import (
    user_invite,
    user_password_link_send,
    user_role_set,
    user_set_active,
)

ROLE_HELP = (
    "A manager runs the admin and the configuration; a rep receives leads once linked to a "
    "rep record (Reps)."
)


class _ManagerFormMixin:
    """The role as a choice; the person acting (set per request) for the self-edit check."""

    actor: Any = None

    def _initial_role(self) -> str:
        instance = self.instance  # type: ignore[attr-defined]
        if instance.pk is None:
            return Role.REP
        return Role.MANAGER if instance.groups.filter(name=MANAGERS_GROUP).exists() else Role.REP


class UserInviteForm(_ManagerFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """Invite a person: a login with no password; the invitation link lets them choose one."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP, help_text=ROLE_HELP)

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = "The invitation link is mailed here."


class UserManageForm(_ManagerFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """Another person: name, email, role and whether they may sign in."""

    role = forms.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = self._initial_role()

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        # get_queryset and the permissions already keep these out; refuse here too.
        if not user_manageable_by(actor=self.actor, user=self.instance):
            raise ValidationError("You may not edit this account.", code="not_manageable")
        if self.actor is not None and self.instance.pk == self.actor.pk:
            raise ValidationError(
                "You may not change your own role or active flag.", code="own_privileges"
            )
        return cleaned


class UserSelfForm(_ManagerFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """A manager's own account: name and email only."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]


_PERSON = ("username", "first_name", "last_name", "email")
_DATES = ("Dates", {"fields": ("last_login", "date_joined")})


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    """Stock for superusers; the limited admin above for everyone else."""

    actions = ["send_password_link", "deactivate", "reactivate"]
    manager_list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role_label",
        "is_active",
        "last_login",
    )

    # --- who and what -----------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                is_manager=Exists(
                    User.groups.through.objects.filter(
                        user_id=OuterRef("pk"), group__name=MANAGERS_GROUP
                    )
                )
            )
        )
        if request.user.is_superuser:
            return queryset
        return users_manageable(queryset)

    def _may_touch(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or user_manageable_by(actor=request.user, user=obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._may_touch(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_touch(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_touch(request, obj)

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return (*super().get_list_display(request), "role_label")
        return self.manager_list_display

    def get_list_filter(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return super().get_list_filter(request)
        return ("is_active",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        if obj is None:
            return [(None, {"fields": (*_PERSON, "role")})]
        if obj.pk == request.user.pk:
            return [(None, {"fields": (*_PERSON, "role_label", "is_active")}), _DATES]
        return [(None, {"fields": (*_PERSON, "role", "is_active")}), _DATES]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser or obj is None:
            return super().get_readonly_fields(request, obj)
        readonly = ["username", "last_login", "date_joined"]
        if obj.pk == request.user.pk:
            readonly += ["role_label", "is_active"]
        return readonly

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if request.user.is_superuser:
            return super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            chosen: type[forms.ModelForm] = UserInviteForm  # type: ignore[type-arg]
        elif obj.pk == request.user.pk:
            chosen = UserSelfForm
        else:
            chosen = UserManageForm
        kwargs["form"] = type(chosen.__name__, (chosen,), {"actor": request.user})
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description="Role")
    def role_label(self, obj: User) -> str:
        if obj.is_superuser:
            return "Superuser"
        manager = getattr(obj, "is_manager", None)
        if manager is None:
            manager = obj.groups.filter(name=MANAGERS_GROUP).exists()
        return str(Role.MANAGER.label if manager else Role.REP.label)

    # --- writes -----------------------------------------------------------------------------

    def _link_target(self, request: HttpRequest) -> dict[str, Any]:
        return {"domain": get_current_site(request).domain, "use_https": request.is_secure()}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if request.user.is_superuser:
            super().save_model(request, obj, form, change)
            role_cache_forget(obj)
            return
        if not change:
            user_invite(user=obj, role=form.cleaned_data["role"], **self._link_target(request))
            messages.info(request, f"An invitation link was mailed to {obj.email}.")
            return
        obj.save()
        if "role" in form.cleaned_data and obj.pk != request.user.pk:
            user_role_set(user=obj, role=form.cleaned_data["role"])
        role_cache_forget(obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Nobody but a superuser sets a password by hand; managers send a reset link instead.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if add and not request.user.is_superuser:
            # The stock add page asks for a password; an invitation has none.
            response.template_name = ["admin/auth/user/invite_form.html"]
        return response

    # --- actions ----------------------------------------------------------------------------

    @admin.action(description="Send a link to set a new password", permissions=["change"])
    def send_password_link(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = 0
        with transaction.atomic():
            for user in queryset:
                if user_password_link_send(user=user, **self._link_target(request)):
                    self.log_change(request, user, "Sent a link to set a new password.")
                    sent += 1
        skipped = queryset.count() - sent
        messages.success(
            request,
            f"Mailed {sent} link(s)"
            + (f"; {skipped} skipped (inactive or no email)." if skipped else "."),
        )

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], active: bool) -> None:
        changed = 0
        with transaction.atomic():
            for user in queryset.exclude(pk=request.user.pk).select_for_update():
                if user_set_active(user=user, active=active):
                    self.log_change(request, user, "Activated." if active else "Deactivated.")
                    changed += 1
        if queryset.filter(pk=request.user.pk).exists():
            messages.warning(request, "Your own account was left as it is.")
        verb = "reactivated" if active else "deactivated"
        messages.success(request, f"{changed} user(s) {verb}.")

    @admin.action(
        description="Deactivate selected users (they can no longer sign in)", permissions=["change"]
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, False)

    @admin.action(description="Reactivate selected users", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, True)
