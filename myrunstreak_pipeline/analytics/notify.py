"""Posting a notification to ``MYRUNSTREAK_NOTIFY_URL``: one plain JSON object every supported service reads.

The body is ``{"text": m, "content": m, "message": m}`` (plus ``"topic"`` for ntfy): Slack incoming webhooks
read ``text``, Discord webhooks ``content``, ntfy ``message``; each ignores the others' fields. ntfy takes JSON
only at its server's root URL, with the topic in the body, so an ntfy URL is recognised by either
  * a ``#topic`` fragment: ``https://ntfy.example.com/#mytopic`` (any host; the fragment is never sent), or
  * the public server with the topic as its one path segment: ``https://ntfy.sh/mytopic``;
and the JSON then goes to the server's root (``https://ntfy.sh/``) with ``"topic": "mytopic"``. Any other URL
gets the JSON as is.

The URL is a secret (a webhook's path or query is its token): messages and logs name only its host. Transient
failures (5xx, no connection) are retried twice with a short backoff; a 4xx (wrong URL or token) fails at once
with one line. A read timeout is not retried: the notification may have arrived.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from dataclasses import dataclass

import requests

from myrunstreak_pipeline.errors import MyRunStreakError

TIMEOUT_SECONDS = 10.0
RETRIES = 2
BACKOFF_SECONDS = 0.5  # then 1 s
NTFY_PUBLIC_HOST = "ntfy.sh"
HINT = "check MYRUNSTREAK_NOTIFY_URL (a Slack or Discord webhook, or an ntfy server with its topic)"
_URL_LOGGERS = ("urllib3.connectionpool",)  # logs each request's path at DEBUG


@dataclass(frozen=True)
class Webhook:
    post_url: str  # where the JSON goes (secret: never shown)
    host: str  # what messages and logs may show
    topic: str | None = None  # ntfy's topic (in the body)


def webhook(url: str) -> Webhook:
    """Where and how to post for ``url`` (see the module docstring for ntfy)."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    segments = [segment for segment in parts.path.split("/") if segment]
    if parts.fragment:
        return Webhook(urllib.parse.urlunsplit(parts._replace(fragment="")), host, parts.fragment)
    if (parts.hostname or "").lower() == NTFY_PUBLIC_HOST and len(segments) == 1:
        root = urllib.parse.urlunsplit(parts._replace(path="/", fragment=""))
        return Webhook(root, host, segments[0])
    return Webhook(url.strip(), host)


def webhook_host(url: str) -> str:
    return webhook(url).host


def webhook_body(message: str, hook: Webhook) -> dict[str, str]:
    body = {"text": message, "content": message, "message": message}
    if hook.topic:
        body["topic"] = hook.topic
    return body


def _quiet_url_logging() -> None:
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def post_notification(
    url: str,
    message: str,
    *,
    timeout: float = TIMEOUT_SECONDS,
    retries: int = RETRIES,
    backoff: float = BACKOFF_SECONDS,
) -> str:
    """POST ``message`` to the webhook; returns its host. Raises ``MyRunStreakError`` (one line, host only)."""
    hook = webhook(url)
    body = webhook_body(message, hook)
    _quiet_url_logging()
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = requests.post(hook.post_url, json=body, timeout=timeout, allow_redirects=False)
        except requests.exceptions.ReadTimeout:
            raise MyRunStreakError(
                f"the notification webhook at {hook.host} did not answer within {timeout:g} s (not retried: it "
                "may have arrived)",
                hint=HINT,
            ) from None
        except requests.exceptions.RequestException as error:  # no connection (refused, DNS, connect timeout)
            problem = f"cannot reach the notification webhook at {hook.host} ({type(error).__name__})"
            continue
        with response:
            status = response.status_code
        if status < 300:
            return hook.host
        if status >= 500:
            problem = f"the notification webhook at {hook.host} answered HTTP {status}"
            continue
        raise MyRunStreakError(
            f"the notification webhook at {hook.host} refused the reminder: HTTP {status} "
            "(a wrong or revoked webhook URL or token?)",
            hint=HINT,
        )
    raise MyRunStreakError(f"{problem}, {retries + 1} attempts", hint=HINT)
