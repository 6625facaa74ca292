from django.contrib.auth import views as auth_views
from django.urls import path

from apps.core.views import home

urlpatterns = [
    path("", home, name="home"),
    # Where invitation and reset links lead (apps/core/services.py mails them).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
