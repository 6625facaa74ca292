"""The audit's pages under /audit/ and its API under /api/audit/."""

from django.urls import path

from apps.audit import api, backtest, views

app_name = "audit"

urlpatterns = [
    path("audit/", views.audit_page, name="rules"),
    path("audit/sign-off/", views.sign_off, name="sign_off"),
    path("audit/versions/", views.versions_page, name="versions"),
    path("audit/backtest/", backtest.backtest_page, name="backtest"),
    path("audit/versions/diff/", views.version_diff_page, name="diff"),
    path("audit/versions/<int:number>/restore/", views.version_restore, name="restore"),
    path("api/audit/rules/", api.RuleAuditApi.as_view(), name="api_rules"),
    path("api/audit/versions/diff/", api.VersionDiffApi.as_view(), name="api_diff"),
    path(
        "api/audit/versions/<int:number>/restore/",
        api.VersionRestoreApi.as_view(),
        name="api_restore",
    ),
    path("api/audit/sign-offs/", api.SignOffApi.as_view(), name="api_sign_offs"),
]
