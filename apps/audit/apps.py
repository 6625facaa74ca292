from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The quarterly rule audit: which rules fired, dead and shadowed rules, configuration
    versions with diffs and restore, and the managers' sign-off of a reviewed window."""

    name = "apps.audit"
    label = "audit"
    verbose_name = "Rule audit"
