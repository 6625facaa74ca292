"""Bench-only URLconf: the project's URLs plus a bare DRF view that validates and inserts one row.

Served only when the environment sets DJANGO_ROOT_URLCONF=bench.bare_urls (bench/intake.py does).
The bare view is the reference that intake's requests/s are compared with: same process, same
middleware, same DRF authentication, no normalisation, no idempotency, no enqueue.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.leads.models import Lead
from routing_portal.urls import urlpatterns as project_urlpatterns


class BareLeadSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    external_id = serializers.CharField(max_length=255, required=False)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    company = serializers.CharField(max_length=255, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    region = serializers.CharField(max_length=10, required=False, allow_blank=True)
    company_size = serializers.IntegerField(min_value=0, required=False)


class BareInsertApi(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        serializer = BareLeadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        lead = Lead.objects.create(**data, email_domain=data["email"].rsplit("@", 1)[-1])
        return Response({"id": lead.pk, "email": lead.email}, status=status.HTTP_201_CREATED)


urlpatterns = [path("bench/bare-insert/", BareInsertApi.as_view()), *project_urlpatterns]
