"""``imports.discover``: finding activity files in paths, folders, Strava/Garmin export zips and S3 prefixes.

Real fixture files, real zips built with ``zipfile``, a real (moto) S3 server; every yielded real file must
parse with ``read_activity_file``, and every unreadable input must surface as an ``ActivityFileError`` on read.
"""

from __future__ import annotations

import gzip
import io
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.files import ActivityFileError, read_activity_file
from myrunstreak_pipeline.imports.discover import FileToImport, discover, listing_fingerprint, stat_key

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files"
RUN_FIT = FIXTURES / "fit" / "run_fenix5_57s_tiny.fit"
WALK_FIT = FIXTURES / "fit" / "walk_fenix5_45s.fit"
LAPS_FIT = FIXTURES / "fit" / "run_fr110_laps_hr.fit"
RUN_GPX = FIXTURES / "gpx" / "run_applewatch_3segments_hr_trimmed.gpx"
RUN_TCX = FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx"

STRAVA_CSV = (
    "\ufeffActivity ID,Activity Date,Activity Name,Activity Type,Distance,Filename,Distance,Extra\n"
    '1,"Jan 1, 2024, 7:00:00 AM",Morning Run,Run,5.0,activities/1.fit.gz,5000.0,x\n'
    '2,"Jan 2, 2024, 7:00:00 AM","Lunch, walk",Walk,1.0,activities/2.gpx.gz,1000.0,y\n'
    '3,"Jan 3, 2024, 7:00:00 AM",Treadmill,Run,3.0,,3000.0,z\n'
    '4,"Jan 4, 2024, 7:00:00 AM",Track,Run,4.0,activities/4.tcx\n'
    '5,"Jan 5, 2024, 7:00:00 AM",Lost,Run,4.0,activities/5.fit.gz,4000.0,w\n'
)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    _zip(buffer, members)  # type: ignore[arg-type]  # ZipFile takes a file object too
    return buffer.getvalue()


def _strava_zip(path: Path) -> Path:
    return _zip(
        path,
        {
            "activities.csv": STRAVA_CSV.encode(),
            "activities/1.fit.gz": gzip.compress(RUN_FIT.read_bytes()),
            "activities/2.gpx.gz": gzip.compress(RUN_GPX.read_bytes()),
            "activities/4.tcx": RUN_TCX.read_bytes(),
            "activities/9.fit": WALK_FIT.read_bytes(),  # not in the csv: still imported, without hints
            "profile.csv": b"a,b\n",
            "media/photo.jpg": b"\xff\xd8",
            "__MACOSX/activities/._1.fit.gz": b"junk",
        },
    )


def _garmin_zip(path: Path) -> Path:
    uploaded = _zip_bytes({"123.fit": RUN_FIT.read_bytes(), "124.fit": LAPS_FIT.read_bytes(), "notes.txt": b"x"})
    deeper = _zip_bytes({"level3.zip": _zip_bytes({"level4.zip": _zip_bytes({"x.fit": b"x"})})})
    return _zip(
        path,
        {
            "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": uploaded,
            "DI_CONNECT/DI-Connect-Fitness/summary.json": b"{}",
            "DI_CONNECT/deep.zip": deeper,
            "DI_CONNECT/broken.zip": b"PK\x03\x04 not really a zip",
        },
    )


def _names(items: list[FileToImport], root: Path) -> list[str]:
    return [item.name.replace(str(root) + "/", "") for item in items]


def test_strava_export_zip_yields_csv_files_with_hints_and_the_rest_without(tmp_path):
    items = list(discover([_strava_zip(tmp_path / "export.zip")]))
    assert _names(items, tmp_path) == [
        "export.zip!activities/1.fit.gz",
        "export.zip!activities/2.gpx.gz",
        "export.zip!activities/4.tcx",
        "export.zip!activities/5.fit.gz",
        "export.zip!activities/9.fit",
    ]
    hints = {item.file_name: (item.sport_hint, item.title) for item in items}
    assert hints == {
        "1.fit.gz": ("Run", "Morning Run"),
        "2.gpx.gz": ("Walk", "Lunch, walk"),
        "4.tcx": ("Run", "Track"),  # a short row: the missing trailing columns are just empty
        "5.fit.gz": ("Run", "Lost"),
        "9.fit": (None, None),
    }
    by_name = {item.file_name: item for item in items}
    for file_name in ("1.fit.gz", "2.gpx.gz", "4.tcx", "9.fit"):
        item = by_name[file_name]
        data = item.read()
        assert item.size == len(data)  # the listed size is the stored (still compressed) size
        read_activity_file(data, item.file_name)
    assert by_name["1.fit.gz"].read()[:2] == b"\x1f\x8b"  # .gz stays compressed: the reader decompresses
    with pytest.raises(ActivityFileError, match="missing from the archive") as missing:
        by_name["5.fit.gz"].read()
    assert missing.value.name.endswith("export.zip!activities/5.fit.gz")


def test_strava_csv_one_folder_down_and_without_filename_column(tmp_path):
    inner = _zip(
        tmp_path / "nested.zip",
        {
            "export_42/activities.csv": STRAVA_CSV.encode(),
            "export_42/activities/1.fit.gz": gzip.compress(RUN_FIT.read_bytes()),
        },
    )
    items = list(discover([inner]))
    found = {item.file_name: item for item in items}
    assert found["1.fit.gz"].members == ("export_42/activities/1.fit.gz",)
    assert found["1.fit.gz"].sport_hint == "Run"
    plain = _zip(tmp_path / "plain.zip", {"activities.csv": b"Activity ID,Name\n1,x\n", "a.fit": RUN_FIT.read_bytes()})
    assert [(item.file_name, item.sport_hint) for item in discover([plain])] == [("a.fit", None)]


def test_garmin_export_expands_nested_zips_and_reports_bad_ones(tmp_path):
    items = list(discover([_garmin_zip(tmp_path / "garmin.zip")]))
    assert [item.members for item in items] == [
        ("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip", "123.fit"),
        ("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip", "124.fit"),
        ("DI_CONNECT/broken.zip",),
        ("DI_CONNECT/deep.zip", "level3.zip", "level4.zip"),
    ]
    assert (
        items[0].name
        == f"{tmp_path}/garmin.zip!DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip!123.fit"
    )
    for item in items[:2]:
        assert read_activity_file(item.read(), item.file_name).to_payload()
    with pytest.raises(ActivityFileError, match="not a readable zip archive"):
        items[2].read()
    with pytest.raises(ActivityFileError, match="nested more than 3 deep"):
        items[3].read()


def test_corrupt_zip_is_an_item_that_fails_on_read(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "bad.zip").write_bytes(b"PK\x05\x06 truncated")
    explicit = tmp_path / "also-bad.zip"
    explicit.write_bytes(b"")
    items = list(discover([folder, explicit]))
    assert [item.file_name for item in items] == ["also-bad.zip", "bad.zip"]
    for item in items:
        with pytest.raises(ActivityFileError, match="not a readable zip archive"):
            read_activity_file(item.read(), item.file_name)


def test_zip_bomb_member_is_listed_but_refused_on_read(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("bomb.fit", "w") as stream:
        chunk = bytes(2**20)
        for _ in range(257):  # 257 MiB of zeros compress to ~260 KB
            stream.write(chunk)
    (item,) = discover([path])
    assert item.size == 257 * 2**20 and path.stat().st_size < 2**20
    with pytest.raises(ActivityFileError, match="larger than 256 MiB"):
        item.read()


def test_folders_skip_hidden_and_unsupported_files_but_explicit_files_are_kept(tmp_path):
    root = tmp_path / "runs"
    (root / "2024" / "jan").mkdir(parents=True)
    (root / ".git").mkdir()
    shutil.copy(RUN_FIT, root / "2024" / "jan" / "a.FIT")
    shutil.copy(RUN_GPX, root / "2024" / "b.gpx")
    (root / "2024" / "c.tcx.gz").write_bytes(gzip.compress(RUN_TCX.read_bytes()))
    shutil.copy(RUN_FIT, root / ".hidden.fit")
    shutil.copy(RUN_FIT, root / ".git" / "x.fit")
    (root / "notes.txt").write_text("x")
    (root / "2024" / "export.zip").write_bytes(_zip_bytes({"z.fit": WALK_FIT.read_bytes(), ".y.fit": b"x"}))
    stray = tmp_path / "notes.csv"
    stray.write_text("x")
    items = list(discover([root, stray, root / "2024" / "b.gpx"]))  # b.gpx twice: de-duplicated
    assert _names(items, tmp_path) == [
        "notes.csv",
        "runs/2024/b.gpx",
        "runs/2024/c.tcx.gz",
        "runs/2024/export.zip!z.fit",
        "runs/2024/jan/a.FIT",
    ]
    with pytest.raises(ActivityFileError, match="unsupported file type"):
        read_activity_file(items[0].read(), items[0].file_name)
    for item in items[1:]:
        read_activity_file(item.read(), item.file_name)


def test_order_is_stable_and_items_pickle(tmp_path):
    _strava_zip(tmp_path / "b.zip")
    _garmin_zip(tmp_path / "a.zip")
    shutil.copy(RUN_TCX, tmp_path / "c.tcx")
    first = list(discover([tmp_path / "c.tcx", tmp_path]))
    second = list(discover([str(tmp_path), str(tmp_path / "c.tcx")]))
    assert first == second
    assert [item.name for item in first] == sorted(item.name for item in first)
    assert listing_fingerprint(first) == listing_fingerprint(reversed(second))
    restored = pickle.loads(pickle.dumps(first))
    assert restored == first
    assert restored[0].read() == first[0].read()
    assert stat_key(first[-1]) == (f"{tmp_path}/c.tcx", RUN_TCX.stat().st_size)
    (tmp_path / "d.fit").write_bytes(RUN_FIT.read_bytes())
    assert listing_fingerprint(discover([tmp_path])) != listing_fingerprint(first)


def test_missing_path_is_one_line_error_before_anything(tmp_path):
    shutil.copy(RUN_FIT, tmp_path / "a.fit")
    with pytest.raises(MyRunStreakError, match="no-such-dir: no such file or folder") as error:
        discover([tmp_path / "a.fit", tmp_path / "no-such-dir"])
    assert "\n" not in str(error.value) and error.value.hint


def test_deleted_file_fails_on_read_not_on_discovery(tmp_path):
    path = tmp_path / "gone.fit"
    shutil.copy(RUN_FIT, path)
    (item,) = discover([path])
    path.unlink()
    with pytest.raises(ActivityFileError, match="cannot read the file"):
        item.read()


def test_s3_prefix_lists_files_and_expands_zips(s3_client, s3_bucket):
    s3_client.put_object(Bucket=s3_bucket, Key="drop/a.fit", Body=RUN_FIT.read_bytes())
    s3_client.put_object(Bucket=s3_bucket, Key="drop/sub/b.gpx.gz", Body=gzip.compress(RUN_GPX.read_bytes()))
    s3_client.put_object(Bucket=s3_bucket, Key="drop/.hidden.fit", Body=b"x")
    s3_client.put_object(Bucket=s3_bucket, Key="drop/readme.txt", Body=b"x")
    s3_client.put_object(Bucket=s3_bucket, Key="dropbox/other.fit", Body=b"x")  # same prefix, other folder
    buffer = io.BytesIO()
    _strava_zip(buffer)  # type: ignore[arg-type]
    s3_client.put_object(Bucket=s3_bucket, Key="drop/export.zip", Body=buffer.getvalue())
    s3_client.put_object(Bucket=s3_bucket, Key="drop/bad.zip", Body=b"not a zip")
    items = list(discover([f"s3://{s3_bucket}/drop"], s3_client_factory=lambda: s3_client))
    base = f"s3://{s3_bucket}/drop/"
    assert [item.name.removeprefix(base) for item in items] == [
        "a.fit",
        "bad.zip",
        "export.zip!activities/1.fit.gz",
        "export.zip!activities/2.gpx.gz",
        "export.zip!activities/4.tcx",
        "export.zip!activities/5.fit.gz",
        "export.zip!activities/9.fit",
        "sub/b.gpx.gz",
    ]
    assert items[0].size == RUN_FIT.stat().st_size
    items = pickle.loads(pickle.dumps(items))  # read() makes its own client (MYRUNSTREAK_S3_ENDPOINT_URL)
    for item in (items[0], items[2], items[4], items[7]):
        assert read_activity_file(item.read(), item.file_name).to_payload()
    assert items[2].sport_hint == "Run"
    with pytest.raises(ActivityFileError, match="not a readable zip archive"):
        items[1].read()
    s3_client.delete_object(Bucket=s3_bucket, Key="drop/a.fit")
    with pytest.raises(ActivityFileError, match=r"cannot read from S3 \(NoSuchKey\)"):
        items[0].read()
    (explicit,) = discover([f"s3://{s3_bucket}/drop/readme.txt"])  # an explicit key: kept, quarantined later
    assert explicit.file_name == "readme.txt"


def test_s3_missing_bucket_is_one_line_error(s3_client):
    with pytest.raises(MyRunStreakError, match="does not exist") as error:
        discover(["s3://myrunstreak-no-such-bucket-0000/drop/"])
    assert "\n" not in str(error.value)


def test_member_names_are_labels_never_paths(tmp_path):
    path = _zip(tmp_path / "odd.zip", {"../up.fit": WALK_FIT.read_bytes(), "/abs/x.tcx": RUN_TCX.read_bytes()})
    items = list(discover([path]))
    assert {item.file_name for item in items} == {"up.fit", "x.tcx"}
    for item in items:
        read_activity_file(item.read(), item.file_name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.zip"]  # nothing extracted


def test_a_replaced_or_deleted_zip_is_reread_or_quarantined(tmp_path):
    path = _zip(tmp_path / "a.zip", {"a.fit": RUN_FIT.read_bytes()})
    (item,) = discover([path])
    assert item.read() == RUN_FIT.read_bytes()
    _zip(path, {"a.fit": WALK_FIT.read_bytes(), "padding.txt": b"x" * 100})
    assert item.read() == WALK_FIT.read_bytes()
    path.unlink()
    with pytest.raises(ActivityFileError, match="cannot read the file"):
        item.read()


def test_a_replaced_s3_zip_is_reread(s3_client, s3_bucket):
    key = "drop/export.zip"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=_zip_bytes({"a.fit": RUN_FIT.read_bytes()}))
    (item,) = discover([f"s3://{s3_bucket}/{key}"])
    assert item.read() == RUN_FIT.read_bytes()
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=_zip_bytes({"a.fit": WALK_FIT.read_bytes()}))
    assert item.read() == WALK_FIT.read_bytes()  # the cached archive is pinned to the old ETag: reopened
