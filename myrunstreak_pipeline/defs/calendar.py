"""``streak_calendar``: the year-by-year heatmap of daily distance with the streak days marked, as a PNG.

Written next to the database (or into MYRUNSTREAK_CALENDAR_DIR), linked in the materialization metadata as a
path, and embedded as a small inline PNG (the last few years) so the asset page shows it. Read-only on the
database, but in the DuckDB pool anyway: a read-only open fails while another process writes the file.
"""

import base64
import os
from pathlib import Path

import dagster as dg

from myrunstreak_pipeline.analytics.calendar import DEFAULT_YEARS, render_calendar, calendar_grid
from myrunstreak_pipeline.defs.common import ANALYTICS_GROUP, OWNERS, POOL, log_progress
from myrunstreak_pipeline.resources import DuckDBStorage
from myrunstreak_pipeline.settings import env_number

CALENDAR_FILE = "streak_calendar.png"
THUMBNAIL_YEARS = 3  # the inline picture stays small (tens of kB) in the event log
THUMBNAIL_CELL_PX = 8
FALLBACK_DIR = Path(".myrunstreak")  # when the database is not a local file


def calendar_dir(database: str) -> Path:
    """MYRUNSTREAK_CALENDAR_DIR, else the database's folder (local path), else .myrunstreak/."""
    configured = os.environ.get("MYRUNSTREAK_CALENDAR_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    if database.lower().startswith("s3://"):
        return FALLBACK_DIR.resolve()
    return Path(database).expanduser().resolve().parent


def calendar_years() -> int | None:
    """MYRUNSTREAK_CALENDAR_YEARS: how many recent years to draw (default 10; 'all' for every year)."""
    if (os.environ.get("MYRUNSTREAK_CALENDAR_YEARS") or "").strip().lower() == "all":
        return None
    return env_number("MYRUNSTREAK_CALENDAR_YEARS", DEFAULT_YEARS, minimum=1)


@dg.asset(
    name="streak_calendar",
    deps=["daily_summary", "streak_analysis"],
    group_name=ANALYTICS_GROUP,
    kinds={"duckdb", "matplotlib"},
    owners=OWNERS,
    pool=POOL,
    description="Year-by-year calendar heatmap of daily distance (km) with the streak days marked (PNG).",
)
def streak_calendar(context: dg.AssetExecutionContext, storage: DuckDBStorage) -> dg.MaterializeResult:
    target = calendar_dir(storage.database) / CALENDAR_FILE
    with storage.reader() as db:
        grid = calendar_grid(db.connection, years=calendar_years())
        thumbnail_grid = calendar_grid(db.connection, years=THUMBNAIL_YEARS)
    drawing = render_calendar(grid, target)
    thumbnail = render_calendar(thumbnail_grid, cell_px=THUMBNAIL_CELL_PX)
    inline = base64.b64encode(thumbnail.png).decode("ascii")
    log_progress(context, f"streak calendar {grid.years[-1]}..{grid.years[0]} written to {target}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(target)),
        "preview": dg.MetadataValue.md(
            f"![streak calendar, last {len(thumbnail_grid.years)} years](data:image/png;base64,{inline})"
        ),
        "years_drawn": len(grid.years),
        "first_year": grid.years[-1],
        "last_year": grid.years[0],
        "streak_days_drawn": int(grid.streak.sum()),
        "image_width_px": drawing.width_px,
        "image_height_px": drawing.height_px,
    })
