"""Admin for webhook endpoints (managed), their deliveries and the outbox (read-only logs).

Stored response snippets and errors are shown as text: the admin escapes read-only values.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from apps.notifications.models import LeadNotice, WebhookDelivery, WebhookEndpoint
from apps.routing.models import OutboxMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "description", "event_types", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    # Webhook receivers are HTTPS endpoints; a scheme-less entry means https (Django 6 default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "endpoint")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LeadNotice)
class LeadNoticeAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "sent_at")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "lead",
        "assignment",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    raw_id_fields = ("lead", "assignment", "rep")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
