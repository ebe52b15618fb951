"""The transport retry policy mounted on the client's session (urllib3 ``Retry``).

GETs are retried on 429/500/502/503/504, connection errors and read timeouts, with capped exponential backoff
plus jitter, honouring ``Retry-After``. A Retry-After longer than ``retry_after_max`` (e.g. an exhausted hourly
quota) is not slept through: the last response is handed back at once and the client raises
``SmashRunRateLimitedError``. The token POST is never retried blindly.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retry settings. Worst-case wait ~ status * max(backoff_max, retry_after_max)."""

    status: int = 4  # retries on 429/500/502/503/504
    connect: int = 3
    read: int = 3
    backoff_factor: float = 1.0  # sleeps backoff_factor * 2**(n-1) (+ jitter), capped at backoff_max
    backoff_max: float = 60.0
    backoff_jitter: float = 1.0
    retry_after_max: int = 120  # a longer Retry-After is not waited for: SmashRunRateLimitedError
    timeout: tuple[float, float] = (10.0, 120.0)  # (connect, read) seconds

    def build(self) -> Retry:
        return _CappedRetry(
            total=self.status + self.connect + self.read,
            status=self.status,
            connect=self.connect,
            read=self.read,
            other=0,
            redirect=0,
            status_forcelist={429, 500, 502, 503, 504},
            allowed_methods={"GET"},  # the token POST is never blindly retried
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            retry_after_max=self.retry_after_max,
            respect_retry_after_header=True,
            raise_on_status=False,  # hand back the last response; the client turns it into a clear error
        )


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (delay seconds or an HTTP date) as seconds from now; None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _CappedRetry(Retry):
    """urllib3 ``Retry`` that gives up at once (instead of sleeping a capped, too-short time) when the
    server's Retry-After exceeds ``retry_after_max`` - e.g. an exhausted hourly quota."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[no-untyped-def, override]
        if response is not None and self.respect_retry_after_header:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                raise MaxRetryError(_pool, url or "", None)  # with raise_on_status=False: response returned
        return super().increment(method, url, response, error, _pool, _stacktrace)
