"""S3 basics shared by the database publisher and the readers: clients, credentials, the HEAD, error mapping
(boto3's and, for readers, DuckDB httpfs's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from myrunstreak_pipeline.duckdb_ops.location import S3Location
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings

if TYPE_CHECKING:  # boto3 is imported lazily: it costs ~0.1 s and most CLI calls use a local file
    import boto3

CREDENTIALS_HINT = (
    "Provide AWS credentials the usual way: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), "
    "AWS_PROFILE / ~/.aws/credentials, or an instance/task role."
)
PERMISSIONS_HINT = (
    "The credentials need s3:GetObject, s3:PutObject (writers) and s3:ListBucket on the bucket; "
    "check them and the bucket policy."
)
RESTORE_HINT = "Restore a previous object version (the bucket should be versioned) or fix MYRUNSTREAK_DB."
MISSING_DATABASE_HINT = "run `myrunstreak run` (or `myrunstreak demo`) first, or point --db / MYRUNSTREAK_DB at it"
ENDPOINT_HINT = "Check the network and MYRUNSTREAK_S3_ENDPOINT_URL (unset it for AWS itself)."


def resolve_endpoint_url(endpoint_url: str | None) -> str | None:
    """The explicit endpoint, else the settings' ``s3_endpoint_url`` (MYRUNSTREAK_S3_ENDPOINT_URL), else None (AWS).

    Callers holding a ``Settings`` pass ``settings.s3_endpoint_url``; the fallback serves those without one
    (``DuckDBStorage(database=uri)``, ``make_s3_client()``).
    """
    return endpoint_url or Settings.from_env().s3_endpoint_url


def _incomplete_credentials(error: PartialCredentialsError) -> MyRunStreakError:
    # botocore's message names the missing variable, never a value
    return MyRunStreakError(f"incomplete AWS credentials ({error})", CREDENTIALS_HINT)


def make_s3_client(
    endpoint_url: str | None = None,
    session: boto3.Session | None = None,
    *,
    max_attempts: int = 5,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
):
    """A boto3 S3 client for the endpoint ``resolve_endpoint_url(endpoint_url)`` gives (None: AWS itself).

    Credentials and region come from the standard AWS chain (environment, profile, role). A custom endpoint
    (an S3-compatible store such as MinIO, or moto in tests) uses path-style addressing. botocore retries
    throttling, 5xx and connection errors itself (``max_attempts`` in all); an endpoint that does not accept
    the connection within ``connect_timeout`` seconds counts as unreachable.
    """
    import boto3
    from botocore.config import Config

    endpoint = resolve_endpoint_url(endpoint_url)
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3={"addressing_style": "path"} if endpoint else {},
    )
    try:
        return (session or boto3.Session()).client("s3", endpoint_url=endpoint, config=config)
    except PartialCredentialsError as error:
        raise _incomplete_credentials(error) from None


@dataclass(frozen=True)
class S3Credentials:
    """Resolved credentials for DuckDB's S3 secret. The repr never shows the secret parts."""

    key_id: str = field(repr=False)
    secret: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str = "us-east-1"

    @classmethod
    def from_boto3(cls, session: boto3.Session | None = None) -> S3Credentials:
        """From the standard AWS credential chain (or the given session)."""
        import boto3

        session = session or boto3.Session()
        try:
            credentials = session.get_credentials()
        except PartialCredentialsError as error:
            raise _incomplete_credentials(error) from None
        if credentials is None:
            raise MyRunStreakError("no AWS credentials found for reading the database from S3", CREDENTIALS_HINT)
        frozen = credentials.get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            raise MyRunStreakError("incomplete AWS credentials", CREDENTIALS_HINT)
        return cls(frozen.access_key, frozen.secret_key, frozen.token, session.region_name or "us-east-1")

    def redact(self, text: str) -> str:
        """``text`` with every credential value masked (for messages built from third-party errors)."""
        for value in (self.secret, self.session_token, self.key_id):
            if value:
                text = text.replace(value, "***")
        return text


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


def storage_error(error: BaseException, location: S3Location, action: str) -> MyRunStreakError:
    """A user-facing error for a failed S3 call, built from codes only: server text and values stay out."""
    if isinstance(error, NoCredentialsError):
        return MyRunStreakError(f"no AWS credentials found for {action} {location}", CREDENTIALS_HINT)
    if isinstance(error, PartialCredentialsError):
        return MyRunStreakError(f"incomplete AWS credentials for {action} {location} ({error})", CREDENTIALS_HINT)
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError)):
        return MyRunStreakError(
            f"S3 did not answer in time while {action} {location} ({type(error).__name__})", ENDPOINT_HINT
        )
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return MyRunStreakError(f"cannot reach S3 while {action} {location} ({type(error).__name__})", ENDPOINT_HINT)
    if isinstance(error, ClientError):
        code, status = error_code(error), http_status(error)
        if code == "NoSuchBucket":
            return MyRunStreakError(
                f"S3 bucket {location.bucket!r} does not exist ({action} {location})",
                "Create the bucket first, or fix the bucket name in MYRUNSTREAK_DB.",
            )
        if code in ("NoSuchKey", "NoSuchVersion", "404") or status == 404:
            return MyRunStreakError(f"database not found: {location} ({action})", MISSING_DATABASE_HINT)
        if status == 403 or code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return MyRunStreakError(f"S3 refused access ({code or status}) while {action} {location}", PERMISSIONS_HINT)
        return MyRunStreakError(f"S3 error {code or status} while {action} {location}")
    return MyRunStreakError(f"S3 failure while {action} {location} ({type(error).__name__})")


@dataclass(frozen=True)
class ObjectVersion:
    """One published version of the object, as a HEAD reports it: what a reader pins, or checks it still reads.

    ``version_id`` is None on an unversioned bucket and while versioning is suspended (S3 then overwrites the
    ``"null"`` version in place, so it cannot pin a read). Two HEADs name the same version iff they are equal.
    """

    etag: str
    version_id: str | None = None
    last_modified: datetime | None = None

    @classmethod
    def from_head(cls, head: dict) -> ObjectVersion:
        version_id = head.get("VersionId")
        return cls(head["ETag"], None if version_id in (None, "", "null") else version_id, head.get("LastModified"))

    @property
    def pinnable(self) -> bool:
        return self.version_id is not None


def head_version(s3_client: Any, location: S3Location, action: str) -> ObjectVersion:
    """The object's current version; a missing bucket or object is a clear error (see ``head_object``)."""
    return ObjectVersion.from_head(head_object(s3_client, location, action, must_exist=True))


def head_object(s3_client: Any, location: S3Location, action: str, *, must_exist: bool = False) -> dict | None:
    """The object's HEAD response (``ETag``, ``Metadata``, ``VersionId``), or None when there is no object.

    With ``must_exist`` a missing object is an error instead. A HEAD response has no body to carry an error
    code, so a HEAD on the bucket then tells a missing bucket from a missing object. Every other failure is
    ``storage_error(…, action)``.
    """
    try:
        return s3_client.head_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        if http_status(error) != 404:
            raise storage_error(error, location, action) from None
        if not must_exist:
            return None
        missing = error
    except BotoCoreError as error:
        raise storage_error(error, location, action) from None
    try:
        s3_client.head_bucket(Bucket=location.bucket)
    except ClientError as bucket_error:
        if http_status(bucket_error) == 404:
            missing = ClientError({"Error": {"Code": "NoSuchBucket"}}, "HeadBucket")
    except BotoCoreError as bucket_error:  # the endpoint went away between the two HEADs
        raise storage_error(bucket_error, location, action) from None
    raise storage_error(missing, location, action) from None


# -- DuckDB's side of a read (httpfs)


def sql_string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_endpoint(endpoint_url: str | None) -> tuple[str, str, bool]:
    """(ENDPOINT, URL_STYLE, USE_SSL) of DuckDB's S3 secret for an endpoint URL (None: AWS itself)."""
    if not endpoint_url:
        return "s3.amazonaws.com", "vhost", True
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise MyRunStreakError(
            f"MYRUNSTREAK_S3_ENDPOINT_URL must look like http(s)://host[:port], got {endpoint_url!r}"
        )
    return parts.netloc, "path", parts.scheme == "https"


def read_error(error: Exception, location: S3Location, detail: str) -> Exception:
    """The one-line error for a failed read of an object that did not change meanwhile; ``detail`` is the error's
    redacted first line. Errors that are not about reading (the caller's own SQL) are returned unchanged."""
    import duckdb

    if isinstance(error, MyRunStreakError):
        return error
    if isinstance(error, UnicodeDecodeError):
        return MyRunStreakError(f"{location} holds corrupt data (text that is not UTF-8)", RESTORE_HINT)
    if not isinstance(error, (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException)):
        return error
    status, lowered = getattr(error, "status_code", None), detail.lower()
    if "not a valid duckdb database" in lowered or not isinstance(error, duckdb.IOException):
        return MyRunStreakError(f"{location} is not a readable DuckDB database", RESTORE_HINT)
    if status in (401, 403) or "403" in detail or "forbidden" in lowered:
        return MyRunStreakError(f"S3 refused access (403) while reading {location}", PERMISSIONS_HINT)
    if "database does not exist" in lowered:  # httpfs's probe hides why (refused, 403, 404); S3 HEADs it fine
        return MyRunStreakError(
            f"DuckDB's httpfs cannot read {location} although S3 reports it exists",
            f"{ENDPOINT_HINT} The credentials need s3:GetObject on the object.",
        )
    if status == 404 or "404" in detail:
        return MyRunStreakError(f"database not found: {location} ({detail})", MISSING_DATABASE_HINT)
    if any(word in lowered for word in ("connect", "timeout", "timed out", "refused", "resolve")):
        return MyRunStreakError(f"cannot reach S3 while reading {location} ({detail})", ENDPOINT_HINT)
    return MyRunStreakError(f"cannot read {location}: {detail}")
