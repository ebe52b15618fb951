"""Distinct copies of real activity files, each the same activity moved in time by whole days.

An import benchmark needs thousands of *different* files: the importer identifies a file by the SHA-256 of its
content and skips one it already holds, so repeating the few real fixtures would measure the skip, not the
import. Synthetic files would not be real (devices write odd structures: developer fields, compressed
timestamps, malformed field sizes, chained FIT files). ``shifted_copy`` moves every timestamp of a real file by a
whole number of days, so each copy parses to the same distance, durations, laps and samples, only ``days`` later
(or earlier), and has content (and a SHA-256) of its own.

* **GPX / TCX**: the date part of every ``<time>`` (GPX, metadata too), ``<Id>``, ``<Time>`` and ``StartTime="…"``
  (TCX) is moved; the time of day, fractional seconds, ``Z`` or offset stay byte for byte as they were.
* **FIT**: the structure is walked (header, definition messages with developer fields, data messages, compressed
  timestamp headers; chained FIT files one after the other) and every ``date_time`` field of the FIT profile
  (``timestamp`` 253 of every message, ``time_created``, ``start_time``, ``local_timestamp``, …; read from
  fitdecode's profile) is moved, invalid (0xFFFFFFFF) and relative (< 0x10000000) values excepted; ``timestamp_16``
  is moved by the same amount modulo 2**16. Compressed timestamp headers hold time modulo 32 s and 86,400 is a
  multiple of 32: they stay right. The header CRC does not cover data (kept); the file CRC is recomputed.
* ``.gz``: decompressed, shifted, recompressed (gzip, mtime 0: the same input gives the same bytes).

A corrupt or truncated FIT file, or a GPX/TCX file without timestamps (a copy would be identical), raises
``ValueError``.
"""

from __future__ import annotations

import gzip
import itertools
import re
import struct
import sys
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fitdecode import profile as _profile

from myrunstreak_pipeline.files.fit import crc16

DAY = 86_400
_FIT_RELATIVE = 0x10000000  # FIT date_time values below this are seconds since device power-up, not dates
_FIT_INVALID = 0xFFFFFFFF
_FIT_MAX = 0xFFFFFFFE
_UINT32 = (0x86, 0x8C)  # uint32, uint32z
_UINT16 = (0x84, 0x8B)  # uint16, uint16z
_TIMESTAMP_16 = {(55, 26)}  # monitoring.timestamp_16: the low 16 bits of a timestamp


def _date_time_fields() -> dict[int, frozenset[int]]:
    """Global message number -> field numbers of FIT type date_time / local_date_time (fitdecode's profile)."""
    fields: dict[int, set[int]] = {}
    for number, message in _profile.MESSAGE_TYPES.items():
        for field_number, field in message.fields.items():
            if getattr(field.type, "name", None) in ("date_time", "local_date_time"):
                fields.setdefault(number, set()).add(field_number)
    return {number: frozenset(found) for number, found in fields.items()}


_DATE_TIME_FIELDS = _date_time_fields()


# --- GPX / TCX ----------------------------------------------------------------------------------------------------
_GPX_TIME = re.compile(rb"(<(?:[\w.-]+:)?time>\s*)(\d{4})-(\d{2})-(\d{2})")
_TCX_TIME = re.compile(rb"(<(?:[\w.-]+:)?(?:Id|Time)>\s*|\bStartTime\s*=\s*[\"']\s*)(\d{4})-(\d{2})-(\d{2})")


def _shift_xml(data: bytes, pattern: re.Pattern[bytes], days: int, kind: str) -> bytes:
    delta = timedelta(days=days)

    def moved(match: re.Match[bytes]) -> bytes:
        try:
            day = date(int(match[2]), int(match[3]), int(match[4])) + delta
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{kind}: cannot move date {match[0][-10:].decode()} by {days} days ({exc})") from None
        return match[1] + day.isoformat().encode()

    result, count = pattern.subn(moved, data)
    if count == 0 and days != 0:
        raise ValueError(f"{kind}: no timestamps to move (a route, not a recording?)")
    return result


# --- FIT ----------------------------------------------------------------------------------------------------------
class _Definition:
    """One local message definition: the data size and where the time fields to move sit in a data message."""

    __slots__ = ("patches", "size")

    def __init__(self, global_number: int, endian: str, fields: list[tuple[int, int, int]], dev_size: int) -> None:
        times = _DATE_TIME_FIELDS.get(global_number, frozenset()) | {253}
        self.patches: list[tuple[int, str, int]] = []  # (offset in the message, struct format, bits: 32 or 16)
        offset = 0
        for number, size, base in fields:  # base type byte compared exactly, as fitdecode does
            if number in times and base in _UINT32 and size and size % 4 == 0:
                self.patches.append((offset, f"{endian}{size // 4}I", 32))
            elif (global_number, number) in _TIMESTAMP_16 and base in _UINT16 and size == 2:
                self.patches.append((offset, f"{endian}H", 16))
            offset += size
        self.size = offset + dev_size


def _shift_fit_data(buffer: bytearray, start: int, end: int, seconds: int) -> None:
    """Move the times of the records in ``buffer[start:end]`` (one FIT file's data) in place."""
    definitions: dict[int, _Definition] = {}
    pos = start
    while pos < end:
        header = buffer[pos]
        pos += 1
        if header & 0x80:  # compressed timestamp header: a data message of local type in bits 5-6
            local, is_definition = (header >> 5) & 0x03, False
        else:
            local, is_definition = header & 0x0F, bool(header & 0x40)
        if is_definition:
            if pos + 5 > end:
                raise ValueError(f"FIT: truncated definition message at byte {pos - 1}")
            endian = ">" if buffer[pos + 1] == 1 else "<"
            global_number = struct.unpack_from(f"{endian}H", buffer, pos + 2)[0]
            count = buffer[pos + 4]
            pos += 5
            if pos + 3 * count > end:
                raise ValueError(f"FIT: truncated definition message at byte {pos - 6}")
            fields = [(buffer[i], buffer[i + 1], buffer[i + 2]) for i in range(pos, pos + 3 * count, 3)]
            pos += 3 * count
            dev_size = 0
            if header & 0x20:  # developer data: a count, then 3-byte developer field definitions
                if pos >= end:
                    raise ValueError("FIT: truncated developer field definitions")
                dev_count = buffer[pos]
                pos += 1
                if pos + 3 * dev_count > end:
                    raise ValueError("FIT: truncated developer field definitions")
                dev_size = sum(buffer[i + 1] for i in range(pos, pos + 3 * dev_count, 3))
                pos += 3 * dev_count
            definitions[local] = _Definition(global_number, endian, fields, dev_size)
            continue
        definition = definitions.get(local)
        if definition is None:
            raise ValueError(f"FIT: data message of undefined local type {local} at byte {pos - 1}")
        if pos + definition.size > end:
            raise ValueError(f"FIT: truncated data message at byte {pos - 1}")
        for offset, fmt, bits in definition.patches:
            at = pos + offset
            values = struct.unpack_from(fmt, buffer, at)
            if bits == 16:
                struct.pack_into(fmt, buffer, at, (values[0] + seconds) & 0xFFFF)
                continue
            moved = []
            for value in values:
                if value != _FIT_INVALID and value >= _FIT_RELATIVE:
                    value += seconds
                    if not _FIT_RELATIVE <= value <= _FIT_MAX:
                        raise ValueError(f"FIT: a timestamp moved by {seconds} s leaves the FIT date range")
                moved.append(value)
            struct.pack_into(fmt, buffer, at, *moved)
        pos += definition.size
    if pos != end:
        raise ValueError("FIT: the last message runs past the data size")


def _shift_fit(data: bytes, days: int, verify: bool) -> bytes:
    buffer = bytearray(data)
    pos = 0
    while pos < len(buffer):  # chained FIT files: one after the other, each with its header, data and CRC
        if len(buffer) - pos < 12:
            raise ValueError(f"FIT: {len(buffer) - pos} stray bytes after the last FIT file")
        header_size = buffer[pos]
        if header_size < 12 or buffer[pos + 8 : pos + 12] != b".FIT":
            raise ValueError(f"FIT: bad file header at byte {pos}")
        data_size = struct.unpack_from("<I", buffer, pos + 4)[0]
        start, end = pos + header_size, pos + header_size + data_size
        if end + 2 > len(buffer):
            raise ValueError("FIT: truncated file (data size runs past the end)")
        if header_size >= 14 and buffer[pos + 12 : pos + 14] != b"\0\0" and crc16(buffer[pos : pos + 14]) != 0:
            raise ValueError("FIT: header CRC mismatch")
        if verify and crc16(buffer[pos : end + 2]) != 0:
            raise ValueError("FIT: CRC mismatch (corrupt file)")
        _shift_fit_data(buffer, start, end, days * DAY)
        struct.pack_into("<H", buffer, end, crc16(buffer[pos:end]))
        pos = end + 2
    if pos == 0:
        raise ValueError("FIT: empty file")
    return bytes(buffer)


# --- public -------------------------------------------------------------------------------------------------------
def shifted_copy(data: bytes, file_name: str, days: int) -> bytes:
    """The same activity file with every timestamp moved by ``days`` whole days (86,400 s × days)."""
    return _shifted(data, file_name, days, verify=True)


def _shifted(data: bytes, file_name: str, days: int, *, verify: bool) -> bytes:
    """``verify=False`` skips the FIT input CRC check (half the time): for a source already checked once."""
    lower = file_name.lower()
    if lower.endswith(".gz"):
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"corrupt or truncated gzip data ({type(exc).__name__})") from None
        return gzip.compress(_shifted(inner, file_name[:-3], days, verify=verify), mtime=0)
    if lower.endswith(".fit"):
        return _shift_fit(data, days, verify)
    if lower.endswith(".gpx"):
        return _shift_xml(data, _GPX_TIME, days, "GPX")
    if lower.endswith(".tcx"):
        return _shift_xml(data, _TCX_TIME, days, "TCX")
    raise ValueError(f"unsupported file type: {file_name} (expected .fit, .gpx or .tcx, optionally .gz)")


def _copy_name(name: str, index: int) -> str:
    lower = name.lower()
    suffix_length = 7 if lower.endswith((".fit.gz", ".gpx.gz", ".tcx.gz")) else len(Path(name).suffix)
    return f"{name[: len(name) - suffix_length]}_{index:06d}{name[len(name) - suffix_length :]}"


def shifted_copies(
    paths: Iterable[str | Path], count: int, out_dir: str | Path, *, step_days: int = 1, skip_bad: bool = False
) -> list[Path]:
    """Write ``count`` distinct files to ``out_dir``, cycling over ``paths``; copy ``i`` (0-based) is its source
    moved ``(i + 1) * step_days`` days into the past (never 0: no copy equals a source) and is named
    ``<stem>_<i:06d><suffixes>``. Every shift is different, so every copy differs from every other.

    A source that cannot be shifted (corrupt FIT, GPX without times) raises ``ValueError`` naming it, or with
    ``skip_bad`` is left out (``ValueError`` when no source is left).
    """
    if step_days == 0:
        raise ValueError("step_days must not be 0: the copies of one source would be identical")
    if count < 0:
        raise ValueError("count must not be negative")
    sources: list[tuple[str, bytes]] = []
    for path in paths:
        path = Path(path)
        try:
            data = path.read_bytes()
            shifted_copy(data, path.name, -step_days)  # checks the source once, and fails before writing anything
        except (OSError, ValueError) as exc:
            if skip_bad:
                continue
            raise ValueError(f"{path.name}: cannot make shifted copies ({exc})") from None
        sources.append((path.name, data))
    if not sources and count:
        raise ValueError("no source file that can be shifted")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (name, data) in zip(range(count), itertools.cycle(sources), strict=False):
        target = out / _copy_name(name, index)
        target.write_bytes(_shifted(data, name, -(index + 1) * step_days, verify=False))
        written.append(target)
    return written
