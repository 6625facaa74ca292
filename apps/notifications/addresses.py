"""Where webhooks may go: public addresses only, unless NOTIFY_WEBHOOK_ALLOW_PRIVATE is on.

Checked when an endpoint is saved (the URL's literal address or its host as resolved then) and
again before every POST (a name may have been re-pointed inside the network since: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

#: The most specific first (a loopback address is "private" too).
_BLOCKED_ADDRESS_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def _address_blocked(address: str) -> str | None:
    """Why `address` may not receive webhooks ("a private address"), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attribute, label in _BLOCKED_ADDRESS_KINDS:
        if getattr(ip, attribute):
            return f"{'an' if label[0] in 'aeiou' else 'a'} {label} address"
    return None if ip.is_global else "a non-public address"


def webhook_url_refusal(url: str, *, resolve: bool) -> str | None:
    """Why webhooks may not be sent to `url` (it names or, with `resolve`, resolves to a
    private, loopback, link-local, multicast, reserved or unspecified address), or None.

    Always None when NOTIFY_WEBHOOK_ALLOW_PRIVATE is on. A host that does not resolve is not
    refused here (sending to it fails anyway).
    """
    if settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE:
        return None
    host = (urlsplit(url).hostname or "").rstrip(".")
    if not host:
        return "the URL has no host."
    addresses = [host] if _is_ip(host) else []
    if not addresses and (host.lower() == "localhost" or host.lower().endswith(".localhost")):
        addresses = ["127.0.0.1"]  # RFC 6761: always loopback, whatever a resolver says
    if not addresses and resolve:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            infos = []
        addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        why = _address_blocked(address)
        if why:
            subject = f"{host} is" if host == address else f"{host} resolves to {address},"
            return (
                f"{subject} {why}: webhooks may only go to public addresses "
                "(NOTIFY_WEBHOOK_ALLOW_PRIVATE allows others)."
            )
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def validate_webhook_url(value: str) -> None:
    """Model and form validator: refuse a URL that names or resolves to a non-public address."""
    refusal = webhook_url_refusal(value, resolve=True)
    if refusal:
        raise ValidationError(f"Not allowed: {refusal}", code="private_address")
