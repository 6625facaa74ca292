"""Rep CRUD by username, and time off (API.md "Routing configuration").

Managers do everything. A rep reads their own record, PATCHes only their own `away`, and
manages only their own time off; other reps' records are 404 to them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.configuration.views import ConfigItemViewSet
from apps.api.reps.serializers import RepSerializer, TimeOffSerializer
from apps.configuration.availability import (
    rep_set_away,
    time_off_create,
    time_off_delete,
    time_off_update,
)
from apps.configuration.export import rep_item
from apps.configuration.items import RepItemSerializer
from apps.configuration.services import rep_delete, rep_save
from apps.core.api.permissions import IsManagerOrRep
from apps.core.roles import user_is_manager, user_rep
from apps.reps.filtersets import RepFilterSet, TimeOffFilterSet
from apps.reps.models import Rep, TimeOff
from apps.reps.selectors import rep_list_visible, time_off_list_visible


class RepViewSet(ConfigItemViewSet):
    """Reps by username."""

    collection = "reps"
    key_field = "username"
    key_lookup = "user__username"
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    serializer_class = RepSerializer
    item_serializer_class = RepItemSerializer
    filterset_class = RepFilterSet
    # a rep may PATCH (their own away flag, checked in update)
    read_actions = ("list", "retrieve", "partial_update")

    def get_queryset(self) -> QuerySet[Rep]:
        return rep_list_visible(user=self.request.user)

    def item_of(self, instance: Rep) -> dict[str, Any]:
        return rep_item(instance)

    def extra_fields(self) -> set[str]:
        return {"away"}

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not user_is_manager(request.user):
            self.get_object()  # someone else's record: 404 before 403
            fields = set(request.data) if isinstance(request.data, dict) else set()
            if fields != {"away"}:
                raise PermissionDenied("Reps may change only their own 'away' flag.")
        return super().update(request, *args, **kwargs)

    def apply_extras(self, instance: Rep, extras: dict[str, Any]) -> None:
        try:
            away = serializers.BooleanField().run_validation(extras["away"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"away": exc.detail}) from exc
        rep_set_away(rep=instance, away=away, actor=self.request.user)

    def put_item(self, *, key: str | None, item: dict[str, Any], position: int | None) -> None:
        rep_save(username=key, item=item, actor=self.request.user)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rep = self.get_object()
        version = rep_delete(username=rep.user.username, actor=request.user)
        kept = self.get_queryset().filter(pk=rep.pk).first()
        if kept is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # Leads still point at the rep: deactivated instead (the summary says so).
        return Response({**self.get_serializer(kept).data, "detail": version.summary})


class TimeOffViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Time off: managers manage everyone's, a rep their own."""

    serializer_class = TimeOffSerializer
    filterset_class = TimeOffFilterSet
    permission_classes = [IsAuthenticated, IsManagerOrRep]

    def get_queryset(self) -> QuerySet[TimeOff]:
        return time_off_list_visible(user=self.request.user)

    def _rep_for(self, username: str | None) -> Rep:
        user = self.request.user
        own = user_rep(user)
        if user_is_manager(user):
            if username is None:
                if own is None:
                    raise serializers.ValidationError({"rep": ["This field is required."]})
                return own
            rep = Rep.objects.select_related("user").filter(user__username=username).first()
            if rep is None:
                raise serializers.ValidationError({"rep": [f"unknown rep '{username}'"]})
            return rep
        if own is None:
            raise PermissionDenied("Only managers and reps may record time off.")
        if username is not None and username != own.user.username:
            raise PermissionDenied("Reps may record only their own time off.")
        return own

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        period = time_off_create(
            rep=self._rep_for(data.get("rep")),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
        )
        return Response(self.get_serializer(period).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        period = self.get_object()
        partial = kwargs.get("partial", False)
        current = self.get_serializer(period).data
        body = request.data if isinstance(request.data, dict) else {}
        merged = (
            {**{k: current[k] for k in ("starts_at", "ends_at", "reason", "note")}, **body}
            if partial
            else body
        )
        merged = {k: v for k, v in merged.items() if k not in ("id",)}
        serializer = self.get_serializer(data=merged)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("rep", period.rep.user.username) != period.rep.user.username:
            raise serializers.ValidationError({"rep": ["time off cannot move to another rep"]})
        period = time_off_update(
            period=period,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
        )
        return Response(self.get_serializer(period).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        time_off_delete(period=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
