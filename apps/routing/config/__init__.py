"""Configuration as code: the one JSON document of API.md, exported, validated and applied."""

from .apply import (
    ConfigVersionConflict,
    config_version_check,
    config_version_record,
    routing_config_apply,
    routing_config_item_delete,
    routing_config_item_put,
)
from .document import ConfigValidationError, document_validate
from .export import (
    DOCUMENT_FORMAT,
    config_version_latest,
    config_version_number,
    routing_config_export,
    routing_config_export_based,
)

__all__ = [
    "DOCUMENT_FORMAT",
    "ConfigValidationError",
    "ConfigVersionConflict",
    "config_version_check",
    "config_version_latest",
    "config_version_number",
    "config_version_record",
    "document_validate",
    "routing_config_apply",
    "routing_config_export",
    "routing_config_export_based",
    "routing_config_item_delete",
    "routing_config_item_put",
]
