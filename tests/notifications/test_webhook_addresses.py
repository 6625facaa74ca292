"""Webhooks go to public addresses only (unless allowed); response snippets are capped, escaped."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.notifications import addresses, services, webhooks
from apps.notifications.models import WebhookDelivery, WebhookEndpoint
from tests.notifications.test_notifications import Receiver

REFUSED = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
    ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
    ("https://192.168.0.10/hook", "private address"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("http://[::1]/hook", "::1 is a loopback address"),
    ("http://[fe80::1]/hook", "link-local address"),
    ("http://0.0.0.0/hook", "0.0.0.0 is an unspecified address"),
    ("http://224.0.0.1/hook", "multicast address"),
    ("http://localhost:9000/hook", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://[::ffff:10.0.0.1]/hook", "private address"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_a_non_public_webhook_url_is_refused_with_a_clear_error(settings, url, message):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpoint(url=url, event_types=["lead.assigned"])
    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()
    (text,) = error.value.message_dict["url"]
    assert message in text
    assert "NOTIFY_WEBHOOK_ALLOW_PRIVATE" in text


def test_a_name_resolving_inside_the_network_is_refused_and_a_public_one_is_not(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = False
    answers = {
        "inside.example.com": "10.20.30.40",
        "hooks.example.com": "93.184.216.34",
    }

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 0))]

    with mock.patch.object(addresses.socket, "getaddrinfo", side_effect=resolve):
        with pytest.raises(
            ValidationError, match=r"inside\.example\.com resolves to 10\.20\.30\.40"
        ):
            WebhookEndpoint(url="https://inside.example.com/x", event_types=[]).full_clean()
        WebhookEndpoint(url="https://hooks.example.com/x", event_types=[]).full_clean()


def test_the_setting_allows_private_receivers(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = True
    WebhookEndpoint(url="http://127.0.0.1:8080/hook", event_types=[]).full_clean()


@pytest.mark.django_db
def test_the_admin_form_refuses_a_private_url(admin_client, settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = False
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "url": "http://169.254.169.254/latest",
            "description": "metadata",
            "event_types": '["lead.assigned"]',
            "secret": "s3cret",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "169.254.169.254 is a link-local address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_at_send_time_a_host_re_pointed_inside_is_refused_and_nothing_is_posted(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/routing", event_types=["lead.assigned"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="lead.assigned", payload={"lead": {"id": 1}}
    )
    rebound = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
    with (
        mock.patch.object(addresses.socket, "getaddrinfo", return_value=rebound),
        mock.patch.object(webhooks.requests, "post") as post,
    ):
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is True
    assert not post.called
    delivery.refresh_from_db()
    assert delivery.status == "failed"  # refused for good: retrying would not make it public
    assert delivery.last_error.startswith(
        "Refused: hooks.example.com resolves to 127.0.0.1, a loopback address"
    )


@pytest.mark.django_db
def test_a_response_snippet_is_capped_and_shown_escaped_in_the_admin(admin_client):
    body = b"<script>alert('x')</script>" + b"A" * 20_000
    receiver = Receiver([500], reply=body)
    try:
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, event_types=["lead.assigned"])
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type="lead.assigned", payload={"lead": {"id": 1}}
        )
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is False
    finally:
        receiver.close()
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("HTTP 500: <script>")
    assert len(delivery.last_error) <= len("HTTP 500: ") + webhooks.RESPONSE_SNIPPET_BYTES
    page = admin_client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    ).content.decode()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page
