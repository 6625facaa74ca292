from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import healthz

admin.site.site_header = "Routing Portal"
admin.site.site_title = "Routing Portal"
admin.site.index_title = "Routing configuration"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.dashboards.urls")),
    path("", include("apps.audit.urls")),
    path("api/", include("apps.api.urls")),
    path("", include("apps.portal.urls")),
    path("", include("apps.core.urls")),
]
