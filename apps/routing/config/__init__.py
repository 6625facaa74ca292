"""Configuration as code: the one JSON document of API.md, exported, validated and applied."""

from .apply import (
    config_version_record,
    routing_config_apply,
    routing_config_item_delete,
    routing_config_item_put,
)
from .document import ConfigValidationError, document_validate
from .export import DOCUMENT_FORMAT, routing_config_export

__all__ = [
    "DOCUMENT_FORMAT",
    "ConfigValidationError",
    "config_version_record",
    "document_validate",
    "routing_config_apply",
    "routing_config_export",
    "routing_config_item_delete",
    "routing_config_item_put",
]
