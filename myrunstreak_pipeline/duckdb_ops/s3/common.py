"""S3 basics shared by the database publisher and the readers: clients, credentials, the HEAD, error mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError, PartialCredentialsError
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


def resolve_endpoint_url(endpoint_url: str | None) -> str | None:
    """The explicit endpoint, else the settings' ``s3_endpoint_url`` (MYRUNSTREAK_S3_ENDPOINT_URL), else None (AWS).

    Callers holding a ``Settings`` pass ``settings.s3_endpoint_url``; the fallback serves those without one
    (``DuckDBStorage(database=uri)``, ``make_s3_client()``).
    """
    return endpoint_url or Settings.from_env().s3_endpoint_url


def _incomplete_credentials(error: PartialCredentialsError) -> MyRunStreakError:
    # botocore's message names the missing variable, never a value
    return MyRunStreakError(f"incomplete AWS credentials ({error})", CREDENTIALS_HINT)


def make_s3_client(endpoint_url: str | None = None, session: boto3.Session | None = None):
    """A boto3 S3 client for the endpoint ``resolve_endpoint_url(endpoint_url)`` gives (None: AWS itself).

    Credentials and region come from the standard AWS chain (environment, profile, role). A custom endpoint
    (an S3-compatible store such as MinIO, or moto in tests) uses path-style addressing.
    """
    import boto3
    from botocore.config import Config

    endpoint = resolve_endpoint_url(endpoint_url)
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, s3={"addressing_style": "path"} if endpoint else {}
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
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return MyRunStreakError(
            f"cannot reach S3 while {action} {location} ({type(error).__name__})",
            "Check the network and MYRUNSTREAK_S3_ENDPOINT_URL (unset it for AWS itself).",
        )
    if isinstance(error, ClientError):
        code, status = error_code(error), http_status(error)
        if code == "NoSuchBucket":
            return MyRunStreakError(
                f"S3 bucket {location.bucket!r} does not exist ({action} {location})",
                "Create the bucket first, or fix the bucket name in MYRUNSTREAK_DB.",
            )
        if code in ("NoSuchKey", "404") or status == 404:
            return MyRunStreakError(
                f"no database at {location} ({action})",
                "Run the pipeline once to create it (myrunstreak run), or fix MYRUNSTREAK_DB.",
            )
        if status == 403 or code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return MyRunStreakError(f"S3 refused access ({code or status}) while {action} {location}", PERMISSIONS_HINT)
        return MyRunStreakError(f"S3 error {code or status} while {action} {location}")
    return MyRunStreakError(f"S3 failure while {action} {location} ({type(error).__name__})")


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
    raise storage_error(missing, location, action) from None
