"""Import leads from the admin: upload a CSV, check the mapping on its first rows, run it on the
`imports` queue, follow its progress, read the report and download the rejected rows.

The same import as `manage.py import_leads` (apps.routing.lead_import); managers who may add
leads only (the admin site admits managers alone; the page also asks for `leads.add_lead`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.csvfiles import CsvFileError
from apps.leads.models import LeadImport, LeadImportMapping, LeadImportStatus
from apps.routing.import_columns import EXTRA_PREFIX, FIELDS, MappingError, extra_key
from apps.routing.import_runs import import_preview, import_run_upload
from apps.routing.import_tasks import import_run_confirm

__all__ = ["lead_import_urls"]

UPLOAD_TEMPLATE = "admin/leads/lead/import_upload.html"
RUN_TEMPLATE = "admin/leads/lead/import_run.html"
#: Uploads above this size are refused (a larger export: run `manage.py import_leads`).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
PREVIEW_ROWS = 5
SKIP, EXTRA = "", "__extra__"


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="A CSV export: any encoding, comma, semicolon or tab.")
    mapping = forms.ModelChoiceField(
        queryset=LeadImportMapping.objects.all(),
        required=False,
        to_field_name="name",
        empty_label="— match columns by name —",
        help_text="Start from a mapping saved by an earlier import.",
    )
    extra_unknown = forms.BooleanField(
        required=False,
        label="Keep unmatched columns",
        help_text="as custom attributes (extra.<column>) instead of skipping them",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]  # an empty file is refused by FileField itself
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is over {MAX_UPLOAD_BYTES // 2**20} MB: use manage.py import_leads."
            )
        return upload


def _field_choices() -> list[tuple[str, str]]:
    return [
        (SKIP, "— skip —"),
        *((name, name) for name in FIELDS),
        (EXTRA, "custom attribute (extra)"),
    ]


class ImportMappingForm(forms.Form):
    """One field picker per column of the file, then the run's options."""

    source = forms.CharField(
        max_length=100, required=False, help_text="lead_source of rows that have none"
    )
    route = forms.BooleanField(
        required=False, initial=True, help_text="Route as they import (else route_pending does)"
    )
    save_as = forms.SlugField(
        max_length=100, required=False, label="Save mapping as", help_text="a name to reuse"
    )

    def __init__(self, *args: Any, header: list[str], targets: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, (column, target) in enumerate(zip(header, targets, strict=True)):
            if not column:
                continue
            initial = EXTRA if target.startswith(EXTRA_PREFIX) else target
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=_field_choices(), required=False, initial=initial, label=column
            )

    def columns(self) -> dict[str, str]:
        """column -> field ("" skips), as `import_leads --mapping` takes it."""
        chosen: dict[str, str] = {}
        for index, column in enumerate(self.header):
            if not column:
                continue
            value = self.cleaned_data.get(f"col_{index}") or SKIP
            chosen[column] = EXTRA_PREFIX + extra_key(column) if value == EXTRA else value
        return chosen

    def pickers(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith("col_")]

    def options(self) -> list[Any]:
        return [self[name] for name in self.fields if not name.startswith("col_")]


def _allowed(request: HttpRequest, model_admin: Any) -> None:
    if not model_admin.has_add_permission(request):
        raise PermissionDenied


def _context(request: HttpRequest, model_admin: Any, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": model_admin.model._meta,
        **extra,
    }


def import_upload_view(request: HttpRequest, *, model_admin: Any) -> HttpResponse:
    """GET: the upload form and recent imports; POST: store the file, go to its preview."""
    _allowed(request, model_admin)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        mapping = form.cleaned_data["mapping"]
        upload = form.cleaned_data["file"]
        run = import_run_upload(
            upload=upload,
            file_name=upload.name,
            columns=mapping.columns if mapping else {},
            extra_unknown=form.cleaned_data["extra_unknown"],
            user=request.user,
        )
        return redirect("admin:leads_lead_import_run", run_id=run.pk)
    recent = LeadImport.objects.select_related("created_by").exclude(dry_run=True)[:10]
    return TemplateResponse(
        request,
        UPLOAD_TEMPLATE,
        _context(request, model_admin, "Import leads", form=form, recent=recent),
    )


def import_run_view(request: HttpRequest, run_id: int, *, model_admin: Any) -> HttpResponse:
    """An uploaded run: the mapping preview (POST confirms and queues it); a queued or running
    one: its progress; a finished one: its report."""
    _allowed(request, model_admin)
    run = get_object_or_404(LeadImport.objects.select_related("created_by"), pk=run_id)
    retention = settings.LEAD_IMPORT_RETENTION_DAYS
    context: dict[str, Any] = {"run": run, "retention_days": retention}
    if run.status == LeadImportStatus.UPLOADED and run.files_removed_at is not None:
        context["error"] = (
            f"This upload was never imported and its file was deleted after {retention} days:"
            " upload the file again."
        )
    elif run.status == LeadImportStatus.UPLOADED:
        try:
            context |= _mapping_step(request, run)
        except (CsvFileError, MappingError, OSError) as error:
            context["error"] = str(error)
        if context.get("confirmed"):
            return _confirm(request, run, context["form"])
    elif run.status in (LeadImportStatus.PENDING, LeadImportStatus.RUNNING):
        context["status_url"] = reverse("admin:leads_lead_import_status", args=[run.pk])
        context["fraction"] = _fraction(run)
    title = f"Import of {run.file_name}"
    return TemplateResponse(request, RUN_TEMPLATE, _context(request, model_admin, title, **context))


def _mapping_step(request: HttpRequest, run: LeadImport) -> dict[str, Any]:
    """The pickers and the first rows as they would import; with "Preview again" the rows
    are checked against the mapping picked, with "Import" it is confirmed."""

    def open_binary() -> Any:
        return run.file.storage.open(str(run.file.name), "rb")

    preview = import_preview(
        open_binary=open_binary, columns=run.columns, extra_unknown=run.extra_unknown, rows=0
    )
    form = ImportMappingForm(
        request.POST or None,
        header=preview["header"],
        targets=preview["targets"],
        initial={"route": True},
    )
    columns: dict[str, str] = dict(run.columns)
    if request.method == "POST" and form.is_valid():
        if "preview" not in request.POST:
            return {"form": form, "confirmed": True}
        columns = form.columns()
    preview = import_preview(
        open_binary=open_binary,
        columns=columns,
        extra_unknown=run.extra_unknown,
        rows=PREVIEW_ROWS,
    )
    visible = [index for index, column in enumerate(preview["header"]) if column]
    rows = [
        {"line": row["line"], "cells": [row["cells"][i] for i in visible], "errors": row["errors"]}
        for row in preview["rows"]
    ]
    return {"form": form, "preview": preview, "rows": rows}


def _fraction(run: LeadImport) -> float:
    if run.status == LeadImportStatus.DONE:
        return 1.0
    return min(run.bytes_read / run.bytes_total, 1.0) if run.bytes_total else 0.0


def _confirm(request: HttpRequest, run: LeadImport, form: ImportMappingForm) -> HttpResponse:
    columns = form.columns()
    if "email" not in columns.values():
        messages.error(request, "Pick the column holding the email: every lead needs one.")
        return redirect("admin:leads_lead_import_run", run_id=run.pk)
    import_run_confirm(
        run=run,
        columns=columns,
        source=form.cleaned_data["source"],
        route=form.cleaned_data["route"],
        save_as=form.cleaned_data["save_as"],
        user=request.user,
    )
    messages.info(request, "The import is queued; this page follows it.")
    return redirect("admin:leads_lead_import_run", run_id=run.pk)


def import_status_view(request: HttpRequest, run_id: int, *, model_admin: Any) -> JsonResponse:
    """The run's progress as JSON, polled by the run page."""
    _allowed(request, model_admin)
    run = get_object_or_404(LeadImport, pk=run_id)
    return JsonResponse(
        {
            "status": run.status,
            "rows": run.rows,
            "imported": run.imported,
            "duplicates": run.duplicates,
            "rejected": run.rejected,
            "routed": run.routed,
            "progress": round(_fraction(run), 4),
            "error": run.error,
        }
    )


def import_rejects_view(request: HttpRequest, run_id: int, *, model_admin: Any) -> FileResponse:
    """The rejected rows of a finished run, as the CSV the command writes."""
    _allowed(request, model_admin)
    run = get_object_or_404(LeadImport, pk=run_id)
    if not run.rejects_file:
        raise Http404("This import rejected no row.")
    stem = run.file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "leads"
    return FileResponse(
        run.rejects_file.open("rb"),
        as_attachment=True,
        filename=f"{stem}.rejects.csv",
        content_type="text/csv; charset=utf-8",
    )


def lead_import_urls(model_admin: Any) -> list[Any]:
    """The import pages, under the leads changelist, behind the admin site's login."""

    def wrap(view: Any) -> Any:
        def bound(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            return view(request, model_admin=model_admin, **kwargs)  # type: ignore[no-any-return]

        return model_admin.admin_site.admin_view(bound)

    return [
        path("import/", wrap(import_upload_view), name="leads_lead_import"),
        path("import/<int:run_id>/", wrap(import_run_view), name="leads_lead_import_run"),
        path(
            "import/<int:run_id>/status/",
            wrap(import_status_view),
            name="leads_lead_import_status",
        ),
        path(
            "import/<int:run_id>/rejects.csv",
            wrap(import_rejects_view),
            name="leads_lead_import_rejects",
        ),
    ]
