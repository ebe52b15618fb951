"""``read_activity_file``: one FIT, GPX or TCX file (optionally gzip-compressed) -> ``FileActivity``.

The format comes from the name's extension (``.fit``, ``.gpx``, ``.tcx``, each optionally ``.gz``, any case).
The id is the SHA-256 of the decompressed content. Everything that makes a file unusable (empty, not gzip,
too large, corrupt, truncated, unsupported, no timestamps) raises ``ActivityFileError`` with a reason.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from pathlib import Path

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.normalise import FileActivity, build

SUPPORTED_SUFFIXES = (".fit", ".gpx", ".tcx", ".fit.gz", ".gpx.gz", ".tcx.gz")
MAX_FILE_BYTES = 256 * 1024 * 1024  # decompressed: the largest real FIT files are a few MB; stops gzip bombs


def _format(name: str) -> tuple[str, bool]:
    lower = name.lower()
    compressed = lower.endswith(".gz")
    stem = lower[:-3] if compressed else lower
    for kind in ("fit", "gpx", "tcx"):
        if stem.endswith("." + kind):
            return kind, compressed
    raise ActivityFileError(
        "unsupported file type (expected .fit, .gpx or .tcx, optionally .gz)", name=name or "<bytes>"
    )


def _gunzip(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        raise ActivityFileError("not gzip-compressed although the name ends in .gz", name=name)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            content = stream.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ActivityFileError(f"corrupt or truncated gzip data ({type(exc).__name__})", name=name) from None
    if len(content) > MAX_FILE_BYTES:
        raise ActivityFileError(f"larger than {MAX_FILE_BYTES // 2**20} MiB once decompressed", name=name)
    return content


def content_digest(data: bytes, name: str) -> str:
    """The SHA-256 of a file's (decompressed) content: its identity, the same for ``x.fit`` and ``x.fit.gz``.
    Cheap next to parsing, so an importer can skip a file it already holds before parsing it."""
    kind_and_compressed = _format(name)
    if kind_and_compressed[1]:
        data = _gunzip(data, name)
    return hashlib.sha256(data).hexdigest()


def _parser(kind: str):
    if kind == "fit":
        from myrunstreak_pipeline.files.fit import parse_fit

        return parse_fit
    if kind == "gpx":
        from myrunstreak_pipeline.files.gpx import parse_gpx

        return parse_gpx
    from myrunstreak_pipeline.files.tcx import parse_tcx

    return parse_tcx


def read_activity_file(
    source: str | Path | bytes, name: str | None = None, *, default_zone: str = "UTC"
) -> FileActivity:
    """Read one activity file from a path or from its bytes (``name`` then gives the extension).

    ``default_zone`` (an IANA name) dates a file that states no local time and has no GPS fix.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not name:
            raise ActivityFileError("a file name is needed to tell the format of raw bytes")
        data = bytes(source)
    else:
        path = Path(source)
        name = name or path.name
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ActivityFileError(f"larger than {MAX_FILE_BYTES // 2**20} MiB", name=name)
            data = path.read_bytes()
        except OSError as exc:
            raise ActivityFileError(f"cannot read the file ({type(exc).__name__})", name=name) from None
    kind, compressed = _format(name)
    if not data:
        raise ActivityFileError("empty file", name=name)
    if compressed:
        data = _gunzip(data, name)
        if not data:
            raise ActivityFileError("empty file (once decompressed)", name=name)
    if len(data) > MAX_FILE_BYTES:
        raise ActivityFileError(f"larger than {MAX_FILE_BYTES // 2**20} MiB", name=name)
    track = _parser(kind)(data, name)
    if track.elapsed_seconds < 0 or track.distance_km < 0:
        raise ActivityFileError("negative duration or distance: clock or data error", name=name)
    digest = hashlib.sha256(data).hexdigest()
    return build(track, content_sha256=digest, name=name, default_zone=default_zone)
