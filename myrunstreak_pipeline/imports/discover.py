"""Find the activity files to import under paths, folders, zip exports and ``s3://`` prefixes, without parsing them.

Why a separate step: the importer parses files in worker processes and quarantines the bad ones, so discovery
must be cheap (listings and zip central directories only), never crash on one bad input, and hand out small,
picklable ``FileToImport`` items that read their own bytes on demand. An unreadable input (a corrupt zip, a
zip-bomb member, zips nested too deep) is still an item: its ``read()`` raises ``ActivityFileError`` with the
reason, so it is quarantined next to the files that loaded.

Zips are read in place, never extracted (member names such as ``../x`` are only labels), declared sizes are
checked before decompressing, a zip in S3 is read with ranged GETs. Strava's ``activities.csv`` gives sports
and titles; Garmin's nested ``UploadedFiles_*.zip`` are expanded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.files import SUPPORTED_SUFFIXES, ActivityFileError
from myrunstreak_pipeline.files.reader import MAX_FILE_BYTES

MAX_MEMBER_BYTES = MAX_FILE_BYTES  # one limit for a loose file and a zip member (declared, uncompressed size)
MAX_NESTED_ZIP_BYTES = 512 * 2**20
MAX_ZIP_DEPTH = 3  # an export zip, its UploadedFiles zips, one more level
MAX_CSV_BYTES = 64 * 2**20
S3_SCHEME = "s3://"
MISSING_HINT = "give a .fit/.gpx/.tcx file (optionally .gz), a .zip export, a folder or an s3://bucket/prefix"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)


@dataclass(frozen=True, slots=True)
class FileToImport:
    """One activity file to import, picklable (sent to worker processes), read lazily."""

    location: str  # a filesystem path, or "s3://bucket/key"
    members: tuple[str, ...] = ()  # the path inside a zip; nested zips add one name per level
    sport_hint: str | None = None  # Strava activities.csv "Activity Type" ("Run", "Ride", ...)
    title: str | None = None  # Strava activities.csv "Activity Name"
    size: int | None = None  # bytes as listed (the compressed size of a .gz), when known cheaply
    problem: str | None = None  # known at discovery (e.g. "not a readable zip archive"): read() raises it

    @property
    def name(self) -> str:
        """Display label: ``export.zip!activities/1.fit.gz`` (one ``!member`` per zip level)."""
        return "!".join((self.location, *self.members))

    @property
    def file_name(self) -> str:
        """The base name that tells the format, e.g. ``1.fit.gz``."""
        last = self.members[-1] if self.members else self.location
        return last.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]

    def read(self) -> bytes:
        """The file's bytes, still gzip-compressed for ``.gz``; any failure is ``ActivityFileError``."""
        if self.problem:
            raise ActivityFileError(self.problem, name=self.name)
        try:
            if self.members:
                return _read_member(self)
            if _is_s3(self.location):
                return _read_s3_object(self)
            return _read_local(self)
        except ActivityFileError:
            raise
        except MyRunStreakError as error:  # e.g. incomplete AWS credentials while making a client
            raise ActivityFileError(str(error).split("\n", 1)[0], name=self.name) from None


def stat_key(item: FileToImport) -> tuple[str, int | None]:
    """What changes when a file is added, removed or replaced, as far as a listing can tell."""
    return item.name, item.size


def listing_fingerprint(items: Iterable[FileToImport]) -> str:
    """SHA-256 (hex) of the sorted ``stat_key`` pairs: equal iff the listings are (for a sensor's cursor)."""
    digest = hashlib.sha256()
    for key in sorted(stat_key(item) for item in items):
        digest.update(json.dumps(key).encode() + b"\n")
    return digest.hexdigest()


def discover(
    paths: Iterable[str | Path], *, s3_client_factory: Callable[[], Any] | None = None
) -> Iterator[FileToImport]:
    """Every importable file under ``paths`` in a stable order (sorted), de-duplicated by name.

    Eager: all local paths are checked first (a missing one is a ``MyRunStreakError``), then everything is
    listed, so every user error (missing path, missing bucket) is raised by the call itself.
    ``s3_client_factory`` makes the client for listing ``s3://`` prefixes (default: ``make_s3_client`` for
    ``MYRUNSTREAK_S3_ENDPOINT_URL``); ``read()`` always uses a per-process client for that setting.
    """
    given = [str(path) for path in paths]
    for path in given:
        if not _is_s3(path) and not os.path.lexists(path):
            raise MyRunStreakError(f"{path}: no such file or folder", hint=MISSING_HINT)
    found: dict[str, FileToImport] = {}
    client = None
    for path in given:
        if _is_s3(path):
            client = client or (s3_client_factory or _s3_client)()
            items = _discover_s3(client, path)
        else:
            items = _discover_local(os.path.normpath(path), explicit=True)
        for item in items:
            found.setdefault(item.name, item)
    return iter(sorted(found.values(), key=lambda item: (item.location, item.members)))


def _is_s3(path: str) -> bool:
    return path[: len(S3_SCHEME)].lower() == S3_SCHEME


def _supported(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def _is_zip(name: str) -> bool:
    return name.lower().endswith(".zip")


def _hidden(relative: str) -> bool:
    parts = relative.replace("\\", "/").split("/")
    return any(part.startswith(".") and part not in (".", "..") for part in parts)


def _discover_local(path: str, *, explicit: bool) -> Iterator[FileToImport]:
    if os.path.isdir(path):
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(files):
                if not file.startswith(".") and (_supported(file) or _is_zip(file)):
                    yield from _discover_local(os.path.normpath(os.path.join(folder, file)), explicit=False)
        return
    size = os.path.getsize(path) if os.path.isfile(path) else None
    if _is_zip(path):
        yield from _expand(path, (), 1, size, lambda: path)
    elif explicit or _supported(path):
        yield FileToImport(path, size=size)


def _read_local(item: FileToImport) -> bytes:
    try:
        if os.stat(item.location).st_size > MAX_FILE_BYTES:
            raise ActivityFileError(f"larger than {MAX_FILE_BYTES // 2**20} MiB", name=item.name)
        return Path(item.location).read_bytes()
    except OSError as error:
        raise ActivityFileError(_reason(error), name=item.name) from None


def _reason(error: BaseException) -> str:
    """A short reason for a failed read, from the error's type and code only (never contents or server text)."""
    if isinstance(error, KeyError):
        return "missing from the zip archive"
    if isinstance(error, RuntimeError):  # zipfile: an encrypted member and no password
        return "encrypted zip member"
    if isinstance(error, (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)):
        return "not a readable zip archive"
    if isinstance(error, OSError):
        return f"cannot read the file ({type(error).__name__})"
    code = getattr(error, "response", {}).get("Error", {}).get("Code")  # botocore's ClientError
    return f"cannot read from S3 ({code or type(error).__name__})"


def _boto_errors() -> tuple[type[BaseException], ...]:  # in except clauses: imported only once something failed
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


# -- zips


def _expand(
    location: str, chain: tuple[str, ...], depth: int, size: int | None, source: Callable[[], Any]
) -> Iterator[FileToImport]:
    """The files in one (nested) zip; an unreadable zip is one item whose ``read()`` raises the reason."""
    try:
        with zipfile.ZipFile(source()) as archive:
            yield from _walk_zip(archive, location, chain, depth)
        return
    except (*_READ_ERRORS, *_boto_errors()) as error:
        problem = _reason(error)
    yield FileToImport(location, chain, size=size, problem=problem)


def _walk_zip(archive: zipfile.ZipFile, location: str, chain: tuple[str, ...], depth: int) -> Iterator[FileToImport]:
    infos = {}
    for info in archive.infolist():  # a repeated name: the last entry wins, as in ZipFile.getinfo
        if not info.is_dir() and not _hidden(info.filename):
            infos[info.filename] = info
    hinted = _strava_rows(archive, infos)
    for member, (sport, title) in hinted.items():
        info = infos.get(member)
        problem = None if info else "named in activities.csv but missing from the archive"
        yield FileToImport(location, (*chain, member), sport or None, title or None, info and info.file_size, problem)
    for member, info in sorted(infos.items()):
        if member in hinted:
            continue
        if _supported(member):
            yield FileToImport(location, (*chain, member), size=info.file_size)
        elif _is_zip(member) and (problem := _nested_problem(info, depth + 1)):
            yield FileToImport(location, (*chain, member), size=info.file_size, problem=problem)
        elif _is_zip(member):
            source = lambda info=info: io.BytesIO(archive.read(info))  # noqa: E731
            yield from _expand(location, (*chain, member), depth + 1, info.file_size, source)


def _nested_problem(info: zipfile.ZipInfo, depth: int) -> str | None:
    if depth > MAX_ZIP_DEPTH:
        return f"zip archives nested more than {MAX_ZIP_DEPTH} deep"
    if info.file_size > MAX_NESTED_ZIP_BYTES:
        return f"nested zip larger than {MAX_NESTED_ZIP_BYTES // 2**20} MiB"
    return None


def _strava_rows(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> dict[str, tuple[str, str]]:
    """Strava export: ``activities.csv`` (root or one folder down) -> {member: (sport, title)}, in csv order.

    Each column is the first of its name (Strava repeats "Distance"); short rows and a BOM are fine."""
    candidates = sorted(
        (name for name in infos if name.rsplit("/", 1)[-1].lower() == "activities.csv" and name.count("/") <= 1),
        key=lambda name: (name.count("/"), name),
    )
    for csv_name in candidates:
        if infos[csv_name].file_size > MAX_CSV_BYTES:
            continue
        try:
            text = archive.read(infos[csv_name]).decode("utf-8-sig", errors="replace")
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except (*_READ_ERRORS, csv.Error):
            continue
        header = [cell.strip().lower() for cell in rows[0]] if rows else []
        if "filename" not in header:
            continue
        column = {name: header.index(name) for name in ("filename", "activity type", "activity name") if name in header}
        base = csv_name.rsplit("/", 1)[0] + "/" if "/" in csv_name else ""
        hinted: dict[str, tuple[str, str]] = {}
        for row in rows[1:]:
            cells = {name: row[index].strip() if index < len(row) else "" for name, index in column.items()}
            file = cells["filename"].replace("\\", "/").removeprefix("./")
            if file and _supported(file) and not _hidden(file):
                hinted.setdefault(base + file, (cells.get("activity type", ""), cells.get("activity name", "")))
        return hinted
    return {}


_ARCHIVES: OrderedDict[tuple, zipfile.ZipFile] = OrderedDict()  # per process: an export zip holds 1000s of files
_MAX_OPEN_ARCHIVES = 4


def _archive(location: str, chain: tuple[str, ...], stamp: Any) -> zipfile.ZipFile:
    """The (nested) zip ``chain`` names inside ``location``, kept open for the next members (small LRU)."""
    key = (location, chain, stamp)
    if key in _ARCHIVES:
        _ARCHIVES.move_to_end(key)
        return _ARCHIVES[key]
    if not chain:
        archive = zipfile.ZipFile(_s3_file(location) if _is_s3(location) else location)
    else:
        parent = _archive(location, chain[:-1], stamp)
        info = parent.getinfo(chain[-1])
        if problem := _nested_problem(info, len(chain) + 1):
            raise ActivityFileError(problem, name="!".join((location, *chain)))
        archive = zipfile.ZipFile(io.BytesIO(parent.read(info)))
    _ARCHIVES[key] = archive
    while len(_ARCHIVES) > _MAX_OPEN_ARCHIVES:
        _ARCHIVES.popitem(last=False)[1].close()
    return archive


def _read_member(item: FileToImport) -> bytes:
    too_large = f"larger than {MAX_MEMBER_BYTES // 2**20} MiB once unzipped"
    try:
        archive = _archive(item.location, item.members[:-1], _stamp(item.location))
        info = archive.getinfo(item.members[-1])
        if info.file_size > MAX_MEMBER_BYTES:
            raise ActivityFileError(too_large, name=item.name)
        with archive.open(info) as stream:
            data = stream.read(MAX_MEMBER_BYTES + 1)
    except (KeyError, *_READ_ERRORS, *_boto_errors()) as error:
        while _ARCHIVES:  # corrupt, or replaced meanwhile (S3 reads are pinned to one ETag): reopen next time
            _ARCHIVES.popitem()[1].close()
        raise ActivityFileError(_reason(error), name=item.name) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise ActivityFileError(too_large, name=item.name)
    return data


def _stamp(location: str) -> Any:
    """What changes when the zip at ``location`` is replaced (its cached open archive is then not reused)."""
    if _is_s3(location):
        bucket, key = _split_s3(location)
        return _s3_client().head_object(Bucket=bucket, Key=key)["ETag"]
    stat = os.stat(location)
    return stat.st_mtime_ns, stat.st_size


# -- S3


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    return bucket, key


_CLIENTS: dict[str | None, Any] = {}  # per process, keyed by endpoint: items stay picklable, clients are reused


def _s3_client() -> Any:
    from myrunstreak_pipeline.duckdb_ops.s3.common import make_s3_client, resolve_endpoint_url

    endpoint = resolve_endpoint_url(None)
    if endpoint not in _CLIENTS:
        _CLIENTS[endpoint] = make_s3_client(endpoint)
    return _CLIENTS[endpoint]


def _discover_s3(client: Any, uri: str) -> Iterator[FileToImport]:
    from myrunstreak_pipeline.duckdb_ops.location import S3Location
    from myrunstreak_pipeline.duckdb_ops.s3.common import error_code, storage_error

    bucket, prefix = _split_s3(uri)
    folder = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    objects = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            objects.extend((entry["Key"], entry.get("Size")) for entry in page.get("Contents", ()))
    except _boto_errors() as error:
        if getattr(error, "response", None) is not None and error_code(error) == "NoSuchBucket":
            raise MyRunStreakError(f"S3 bucket {bucket!r} does not exist (listing {uri})", MISSING_HINT) from None
        raise storage_error(error, S3Location(bucket, prefix), "listing") from None
    for key, size in sorted(objects):
        location, explicit = f"{S3_SCHEME}{bucket}/{key}", key == prefix
        if not explicit and (not key.startswith(folder) or _hidden(key[len(folder) :]) or key.endswith("/")):
            continue  # another "folder" sharing the prefix (drop/ vs dropbox/), hidden, or a folder marker
        if _is_zip(key):
            yield from _expand(location, (), 1, size, lambda location=location: _s3_file(location, client))
        elif explicit or _supported(key):
            yield FileToImport(location, size=size)


def _read_s3_object(item: FileToImport) -> bytes:
    bucket, key = _split_s3(item.location)
    try:
        data = _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read(MAX_FILE_BYTES + 1)
    except _boto_errors() as error:
        raise ActivityFileError(_reason(error), name=item.name) from None
    if len(data) > MAX_FILE_BYTES:
        raise ActivityFileError(f"larger than {MAX_FILE_BYTES // 2**20} MiB", name=item.name)
    return data


class _S3Range(io.RawIOBase):
    """A seekable read-only file over one S3 object version (ETag-pinned ranged GETs), for ``zipfile``."""

    def __init__(self, client: Any, bucket: str, key: str):
        head, self._client, self._bucket, self._key = client.head_object(Bucket=bucket, Key=key), client, bucket, key
        self._size, self._etag, self._position = int(head["ContentLength"]), head["ETag"], 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        byte_range = f"bytes={self._position}-{end - 1}"
        response = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=byte_range, IfMatch=self._etag)
        data = response["Body"].read()
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _s3_file(location: str, client: Any = None) -> io.BufferedReader:
    bucket, key = _split_s3(location)
    return io.BufferedReader(_S3Range(client or _s3_client(), bucket, key), buffer_size=1 << 20)
