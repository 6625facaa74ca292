"""The JSON parser of every API endpoint (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

Python's json module accepts documents that nothing downstream can hold: numbers that overflow
(`1e400` becomes infinity, a 5,000-digit integer raises), strings with unpaired surrogates
(`"\\ud800"`: PostgreSQL, the JSON renderer and every encoder refuse them) and nesting deep
enough to exhaust the stack. They are refused here, as 400s naming the top-level field that
holds them, so no endpoint meets them as a 500.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser, get_encoding

#: Deeper documents are refused whole. Generous: routing configuration documents nest rules,
#: condition groups and conditions; single fields (such as a lead's `extra`) set tighter limits.
MAX_DEPTH = 32


class _Unrepresentable:
    """Stands in for a number no Python float or int can hold, until the walk names its field."""


_UNREPRESENTABLE = _Unrepresentable()


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _UNREPRESENTABLE


def _parse_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:  # longer than sys.get_int_max_str_digits()
        return _UNREPRESENTABLE


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not valid JSON")


def has_lone_surrogate(text: str) -> bool:
    """True when the string holds an unpaired UTF-16 surrogate (it cannot be encoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable_key(key: str) -> str:
    """A key as an error may name it (unpaired surrogates escaped)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def json_value_problem(value: Any, *, max_depth: int, depth: int = 0) -> str | None:
    """Why a parsed JSON value cannot be stored, or None; iterative-enough for `max_depth`."""
    if depth > max_depth:
        return f"Nested more than {max_depth} levels deep."
    if value is _UNREPRESENTABLE:
        return "A number is too large."
    if isinstance(value, str):
        return "Unpaired surrogate in a string." if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if has_lone_surrogate(key):
                return "Unpaired surrogate in a key."
            problem = json_value_problem(item, max_depth=max_depth, depth=depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = json_value_problem(item, max_depth=max_depth, depth=depth + 1)
            if problem:
                return problem
    return None


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, refusing what cannot be stored (module docstring) with a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        if stream is None:
            raise ParseError("JSON parse error - the body is empty.")
        encoding = get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            raw = stream.read(limit + 1) if limit is not None else stream.read()
            if limit is not None and len(raw) > limit:
                raise ParseError(f"The request body is larger than {limit} bytes.")
            data = json.loads(
                codecs.decode(raw, encoding),
                parse_float=_parse_float,
                parse_int=_parse_int,
                parse_constant=_refuse_constant,
            )
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ParseError(f"JSON parse error - {exc}") from exc
        problem = self._problem(data)
        if problem is not None:
            raise problem
        return data

    @staticmethod
    def _problem(data: Any) -> Exception | None:
        if isinstance(data, dict):
            errors = {}
            for key, value in data.items():
                if has_lone_surrogate(key):
                    errors[printable_key(key)] = ["Unpaired surrogate in the field name."]
                    continue
                problem = json_value_problem(value, max_depth=MAX_DEPTH - 1)
                if problem:
                    errors[key] = [problem]
            return ValidationError(errors) if errors else None
        problem = json_value_problem(data, max_depth=MAX_DEPTH)
        return ParseError(f"JSON parse error - {problem}") if problem else None
