"""Database locations: ``s3://bucket/key.duckdb`` versus a local path (cheap to import: no boto3, no DuckDB)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from myrunstreak_pipeline.errors import MyRunStreakError

SCHEME = "s3://"


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def bucket_uri(self) -> str:
        return f"{SCHEME}{self.bucket}"

    @property
    def uri(self) -> str:
        return f"{self.bucket_uri}/{self.key}"

    def __str__(self) -> str:
        return self.uri


def is_s3_uri(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.lower().startswith(SCHEME)


def parse_s3_uri(uri: str) -> S3Location:
    """``s3://bucket/key.duckdb`` -> S3Location; anything else is a clear MyRunStreakError."""
    hint = "Use MYRUNSTREAK_DB=s3://<bucket>/<key>.duckdb (or a local file path)."
    if not is_s3_uri(uri):
        raise MyRunStreakError(f"not an s3:// URI: {uri!r}", hint)
    bucket, _, key = uri[len(SCHEME) :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise MyRunStreakError(f"an s3:// database URI needs a bucket and an object key: {uri!r}", hint)
    # S3 bucket naming rules: 3-63 chars of lower-case letters, digits, dots and hyphens.
    if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in ".-" for c in bucket):
        raise MyRunStreakError(f"invalid S3 bucket name {bucket!r} in {uri!r}", hint)
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise MyRunStreakError(f"the S3 key in {uri!r} contains control characters", hint)
    return S3Location(bucket=bucket, key=key)
