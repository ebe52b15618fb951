"""The streak calendar heatmap: its cells against the views, its pixels, its speed, the CLI and the asset."""

from __future__ import annotations

import base64
import datetime as dt
import time

import dagster as dg
import duckdb
import numpy as np
import pytest
from matplotlib.image import imread

from myrunstreak_pipeline import cli
from myrunstreak_pipeline.analytics.calendar import (
    LONGEST_DOT,
    NO_RUN_COLOUR,
    STREAK_DOT,
    calendar_grid,
    render_calendar,
    week_column,
    write_calendar,
)
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline_tests.fixtures.analytics import create_analytics_db, insert_runs, run

FIRST = dt.date(2019, 1, 1)
LAST = dt.date(2024, 12, 31)
NO_RUN_DAYS = {dt.date(2019, 6, 1), dt.date(2020, 2, 29), dt.date(2021, 3, 14), dt.date(2023, 8, 8)}
SHORT_DAYS = {dt.date(2022, 5, 5), dt.date(2024, 1, 10)}  # a run, but under one mile: breaks the streak
DELETED_DAY = dt.date(2023, 11, 11)  # its only run is flagged deleted: no run that day


def _history() -> list[dict]:
    runs, day, n = [], FIRST, 0
    while day <= LAST:
        if day not in NO_RUN_DAYS:
            km = 0.8 if day in SHORT_DAYS else 2.0 + (n % 11)
            runs.append(run(day, km, activity_id=f"r{n}", deleted=day == DELETED_DAY))
            if n % 5 == 0 and day not in SHORT_DAYS | {DELETED_DAY}:  # some two-run days: the cell shows the day's sum
                runs.append(run(dt.datetime.combine(day, dt.time(18, 0)), 1.5, activity_id=f"r{n}b"))
        day += dt.timedelta(days=1)
        n += 1
    return runs


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("calendar") / "history.duckdb"
    writer = create_analytics_db(path)
    insert_runs(writer, _history())
    writer.close()
    # read-only from here on, like the CLI and the asset (DuckDB: one configuration per file per process)
    con = duckdb.connect(str(path), read_only=True)
    yield path, con
    con.close()


def _view_streak_days(con) -> tuple[set[dt.date], set[dt.date]]:
    rows = con.execute(
        "SELECT CAST(d AS DATE), streak_rank = 1 FROM streak_analysis, "
        "unnest(generate_series(start_date, end_date, INTERVAL 1 DAY)) AS t(d)"
    ).fetchall()
    return {day for day, _ in rows}, {day for day, longest in rows if longest}


def test_grid_matches_streak_analysis_and_daily_summary(history_db):
    _, con = history_db
    grid = calendar_grid(con, years=None)
    assert grid.years == list(range(2024, 2018, -1))  # newest year on top

    streak_days, longest_days = _view_streak_days(con)
    assert grid.streak_days() == streak_days
    assert {d for d in streak_days if grid.longest[grid.cell(d)]} == longest_days
    assert not (NO_RUN_DAYS | SHORT_DAYS | {DELETED_DAY}) & grid.streak_days()
    # the longest streak runs from after the 2022-05-05 short day to before the 2023-08-08 gap
    assert min(longest_days) == dt.date(2022, 5, 6) and max(longest_days) == dt.date(2023, 8, 7)

    daily = dict(con.execute("SELECT day, total_km FROM daily_summary").fetchall())
    drawn = {day for day in grid._days()}
    for day in drawn:
        assert grid.km[grid.cell(day)] == pytest.approx(daily.get(day, 0.0)), day
    assert int((~np.isnan(grid.km)).sum()) == len(drawn)  # every other cell is "not a day"
    assert grid.km[grid.cell(DELETED_DAY)] == 0.0


def test_default_span_is_the_last_years_and_rejects_nonsense(history_db):
    _, con = history_db
    assert calendar_grid(con, years=2).years == [2024, 2023]
    assert calendar_grid(con).years == list(range(2024, 2018, -1))  # 6 years < the default 10
    with pytest.raises(MyRunStreakError):
        calendar_grid(con, years=0)


def test_week_columns_follow_the_calendar():
    assert week_column(dt.date(2024, 1, 1)) == 0  # a Monday
    assert week_column(dt.date(2023, 1, 1)) == 0 and week_column(dt.date(2023, 1, 2)) == 1  # Sunday, Monday
    assert week_column(dt.date(2012, 12, 31)) == 53  # a leap year starting on a Sunday: the 54th column


def test_png_pixels_show_streak_and_non_streak_cells(history_db, tmp_path):
    _, con = history_db
    target = tmp_path / "calendar.png"
    drawing = write_calendar(con, target, years=None)
    image = imread(target)[..., :3]
    assert image.shape[:2] == (drawing.height_px, drawing.width_px)

    def colour(day):
        x, y = drawing.pixel(day)
        return image[y, x]

    streak_day, longest_day = dt.date(2020, 7, 1), dt.date(2022, 12, 24)
    assert (
        drawing.grid.streak[drawing.grid.cell(streak_day)] and not drawing.grid.longest[drawing.grid.cell(streak_day)]
    )
    assert np.allclose(colour(streak_day), _rgb(STREAK_DOT), atol=0.02)
    assert np.allclose(colour(longest_day), _rgb(LONGEST_DOT), atol=0.02)
    for day in NO_RUN_DAYS | {DELETED_DAY}:
        assert np.allclose(colour(day), NO_RUN_COLOUR[:3], atol=0.02), day
    for day in SHORT_DAYS:  # ran, not a streak day: a green-scale cell, no dot
        red, green, blue = colour(day)
        assert green > red and green > blue and not np.allclose(colour(day), NO_RUN_COLOUR[:3], atol=0.02)
    # the neighbour of a dot's centre, at the cell's edge, is the km colour, not the dot
    x, y = drawing.pixel(streak_day)
    cell = drawing._x[0]
    edge = image[y, x + int(cell * 0.4)]
    assert not np.allclose(edge, _rgb(STREAK_DOT), atol=0.1)


def test_svg_through_the_cli(history_db, tmp_path, capsys, monkeypatch):
    path, _ = history_db
    monkeypatch.delenv("MYRUNSTREAK_STREAK_MIN_KM", raising=False)
    monkeypatch.delenv("MYRUNSTREAK_STREAK_MODE", raising=False)
    target = tmp_path / "out" / "calendar.svg"
    assert (
        cli.main(
            ["streak", "--db", str(path), "--today", "2024-12-31", "--calendar", str(target), "--calendar-years", "3"]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "Current streak" in captured.out and "calendar 2022..2024 written to" in captured.err
    text = target.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "Streak calendar 2022–2024" in text


def test_fifty_five_years_render_fast(tmp_path):
    con = create_analytics_db(tmp_path / "long.duckdb")
    con.execute(load_sql("testing/synthetic_runs.sql"), {"first_id": 0, "count": 55 * 365 + 14})
    started = time.perf_counter()
    drawing = write_calendar(con, tmp_path / "all.png", years=None)
    elapsed = time.perf_counter() - started
    print(f"55 years ({drawing.width_px}x{drawing.height_px} px) in {elapsed:.2f} s")
    assert len(drawing.grid.years) == 55
    assert elapsed < 3.0
    assert drawing.height_px <= 5200  # capped: smaller cells, not an endless picture
    assert len(write_calendar(con, None).grid.years) == 10  # default: the last ten years
    con.close()


def test_streak_calendar_asset_writes_and_links_the_picture(history_db, tmp_path, monkeypatch):
    from myrunstreak_pipeline.defs.analytics import build_calendar_asset
    from myrunstreak_pipeline.defs.resources import DuckDBStorage
    from myrunstreak_pipeline.settings import Settings

    path, _ = history_db
    monkeypatch.setenv("MYRUNSTREAK_CALENDAR_DIR", str(tmp_path / "pictures"))
    monkeypatch.setenv("MYRUNSTREAK_CALENDAR_YEARS", "all")
    streak_calendar = build_calendar_asset(Settings.from_env())
    result = dg.materialize([streak_calendar], resources={"storage": DuckDBStorage(database=str(path))})
    assert result.success
    metadata = result.asset_materializations_for_node("streak_calendar")[0].metadata
    picture = tmp_path / "pictures" / "streak_calendar.png"
    assert metadata["path"].value == str(picture) and picture.read_bytes().startswith(b"\x89PNG")
    assert metadata["years_drawn"].value == 6
    preview = metadata["preview"].value
    encoded = preview.split("data:image/png;base64,", 1)[1].rstrip(")")
    thumbnail = base64.b64decode(encoded)
    assert thumbnail.startswith(b"\x89PNG") and len(thumbnail) < 100_000


def test_render_rejects_unknown_file_types(history_db, tmp_path):
    _, con = history_db
    with pytest.raises(MyRunStreakError, match="unsupported calendar file type"):
        render_calendar(calendar_grid(con, years=1), tmp_path / "calendar.gif")
