"""The audit's JSON (and CSV) endpoints under /api/audit/ (docs/API.md "Dashboards and
audits"): managers only; the same forms, selectors and services as the pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.forms import Form
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.exports import rule_audit_csv
from apps.audit.forms import AuditWindowForm, RestoreForm, SignOffForm, VersionDiffForm
from apps.audit.selectors import audit_sign_offs, rule_audit_report, sign_off_json
from apps.audit.services import audit_sign_off
from apps.audit.versions import version_diff
from apps.configuration.export import config_version_number
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import routing_config_restore
from apps.core.api.permissions import IsManager
from apps.core.windows import QUARTER_PRESETS

__all__ = ["RuleAuditApi", "SignOffApi", "VersionDiffApi", "VersionRestoreApi"]

WINDOW_PARAMETERS = [
    OpenApiParameter(
        "preset",
        str,
        description=f"{', '.join(key for key, _ in QUARTER_PRESETS)} or a calendar quarter "
        "such as 2026-Q1",
    ),
    OpenApiParameter("start", OpenApiTypes.DATE),
    OpenApiParameter("end", OpenApiTypes.DATE),
]


class RuleAuditCsvRenderer(BaseRenderer):
    """``?format=csv``: the report as a spreadsheet-friendly CSV download."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        if isinstance(data, dict) and "rules" in data:
            response = (renderer_context or {}).get("response")
            if response is not None:
                window = data["window"]
                name = f"rule-audit-{window['start']}-{window['end']}.csv"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
            return rule_audit_csv(data).encode("utf-8")
        # An error (400, 403): its JSON, still readable in a CSV download.
        return JSONRenderer().render(data)


def _invalid(form: Form) -> ValidationError:
    """The form's errors as a 400 naming each field."""
    return ValidationError(
        {field: [str(message) for message in errors] for field, errors in form.errors.items()}
    )


def _body(request: Request) -> Mapping[str, Any]:
    if not isinstance(request.data, Mapping):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return request.data


def _window_form(request: Request) -> AuditWindowForm:
    form = AuditWindowForm(request.query_params)
    if not form.is_valid():
        raise _invalid(form)
    return form


class RuleAuditApi(APIView):
    """Per rule over a window: hits, conversions, response, never fired, shadowed, changes."""

    permission_classes = [IsAuthenticated, IsManager]
    renderer_classes = [JSONRenderer, RuleAuditCsvRenderer]

    @extend_schema(
        operation_id="audit_rules",
        parameters=[*WINDOW_PARAMETERS, OpenApiParameter("format", str, enum=["json", "csv"])],
        responses=OpenApiTypes.OBJECT,
        description="Shape and definitions: docs/API.md, Dashboards and audits.",
    )
    def get(self, request: Request) -> Response:
        return Response(rule_audit_report(window=_window_form(request).window))


class VersionDiffApi(APIView):
    """What changed between two configuration versions (``?from=&to=``; ``to``: current)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        operation_id="audit_version_diff",
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        form = VersionDiffForm(request.query_params)
        if not form.is_valid():
            raise _invalid(form)
        new = form.cleaned_data["to"] or config_version_number()
        try:
            return Response(version_diff(old=form.cleaned_data["from"], new=new))
        except RoutingConfigVersion.DoesNotExist as exc:
            raise NotFound(str(exc)) from exc


class VersionRestoreApi(APIView):
    """Make an earlier version's document live again, as a new version (managers)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        operation_id="audit_version_restore",
        request={"application/json": {"type": "object", "properties": {
            "based_on_version": {"type": "integer"}}}},
        responses={
            201: OpenApiTypes.OBJECT,
            400: OpenApiResponse(description="The restored document no longer validates."),
            412: OpenApiResponse(description="based_on_version is not the current version."),
        },
    )  # fmt: skip
    def post(self, request: Request, number: int) -> Response:
        form = RestoreForm(_body(request))
        if not form.is_valid():
            raise _invalid(form)
        try:
            version = routing_config_restore(
                number=number,
                actor=request.user,
                based_on=form.cleaned_data["based_on_version"],
            )
        except RoutingConfigVersion.DoesNotExist as exc:
            raise NotFound(f"no configuration version {number}") from exc
        return Response(
            {"version": version.number, "summary": version.summary, "restored": number},
            status=status.HTTP_201_CREATED,
        )


class SignOffApi(APIView):
    """GET the sign-offs of a window; POST one ``{"start", "end", "notes"}`` (final)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(
        operation_id="audit_sign_offs", parameters=WINDOW_PARAMETERS, responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        window = _window_form(request).window
        rows = audit_sign_offs(window=window)
        return Response(
            {
                "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
                "sign_offs": [sign_off_json(row) for row in rows],
            }
        )

    @extend_schema(
        operation_id="audit_sign_off_create",
        request={"application/json": {"type": "object", "required": ["start", "end"], "properties": {
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "notes": {"type": "string", "maxLength": 5000}}}},
        responses={201: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        form = SignOffForm(_body(request))
        if not form.is_valid():
            raise _invalid(form)
        row = audit_sign_off(
            actor=request.user, window=form.window, notes=form.cleaned_data["notes"]
        )
        return Response(sign_off_json(row), status=status.HTTP_201_CREATED)
