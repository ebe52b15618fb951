"""What the sandbox's endpoints answer: a response value and the JSON bodies SmashRun sends with it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON_TYPE = "application/json; charset=utf-8"
NOT_FOUND = "No HTTP resource was found that matches the request URI."


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)


class BadRequest(Exception):
    """A malformed request parameter: answered 400 with the message."""


def json_response(obj: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), JSON_TYPE, headers or {})


def message(status: int, text: str, headers: dict | None = None) -> Response:
    """The API's error shape: ``{"Message": ...}``."""
    return json_response({"Message": text}, status, headers)


def not_allowed(method: str) -> Response:
    return message(405, f"The requested resource does not support http method '{method}'.")


def oauth_error(status: int, error: str, description: str) -> Response:
    """The token endpoint's error shape (RFC 6749 §5.2)."""
    return json_response({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


def flatten(params: dict[str, list[str]]) -> dict[str, str]:
    """``parse_qs`` output with the last value of each repeated parameter."""
    return {key: values[-1] for key, values in params.items()}
