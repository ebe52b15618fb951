"""The analytics views as assets, and the streak calendar picture.

One step refreshes every view (``DuckDBManager`` re-creates ``sql/views`` on open) and the stored streak rule
from the settings, then reports row counts, schemas, the streak card and the consistency checks. One step, one
connection: per-step cost matters more than per-view granularity.
"""

import base64
from pathlib import Path

import dagster as dg

from myrunstreak_pipeline.analytics import format_card_markdown, local_today, streak_card
from myrunstreak_pipeline.analytics.calendar import NoRunsYetError, calendar_grid, render_calendar
from myrunstreak_pipeline.analytics.rule import set_streak_rule_from_settings
from myrunstreak_pipeline.analytics.views import published_views, view_row_counts
from myrunstreak_pipeline.defs.common import (
    ANALYTICS_GROUP,
    OWNERS,
    POOL,
    check_result,
    log_progress,
    run_sql_check,
    table_schema,
)
from myrunstreak_pipeline.defs.resources import DuckDBStorage
from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
from myrunstreak_pipeline.settings import Settings


def build_analytics_assets(settings: Settings) -> dg.AssetsDefinition:
    views = [view.name for view in published_views()]
    specs = [
        dg.AssetSpec(
            view.name,
            deps=["runs", "activity_files"],
            description=view.description,
            group_name=ANALYTICS_GROUP,
            kinds={"duckdb", "sql"},
            owners=OWNERS,
        )
        for view in published_views()
    ]
    check_specs = [
        dg.AssetCheckSpec(
            "longest_streak_covers_current",
            asset="current_streak",
            description="The longest streak is at least as long as the current one.",
        ),
        dg.AssetCheckSpec(
            "monthly_totals_match_daily",
            asset="monthly_summary",
            description="Each month's distance and run count equal the sum of its days.",
        ),
        dg.AssetCheckSpec(
            "no_days_resting_on_overrides",
            asset="current_streak",
            description="No day of the current streak qualifies only thanks to an override (a warning: lists them).",
        ),
    ]

    @dg.multi_asset(
        name="analytics",
        specs=specs,
        check_specs=check_specs,
        pool=POOL,
        description="Refresh the analytics views and the streak rule; report the streak card.",
    )
    def analytics(context: dg.AssetExecutionContext, storage: DuckDBStorage):
        today = local_today(settings.timezone)

        def refresh(db):  # idempotent: on S3 it is re-applied to a fresh copy if another writer published first
            con = db.connection
            rule = set_streak_rule_from_settings(con, settings)
            checks = {
                "longest_streak_covers_current": run_sql_check(con, "longest_streak_covers_current.sql"),
                "monthly_totals_match_daily": run_sql_check(con, "monthly_totals_match_daily.sql"),
                "no_days_resting_on_overrides": run_sql_check(con, "no_days_resting_on_overrides.sql"),
            }
            total_km = con.execute("SELECT coalesce(sum(total_km), 0) FROM daily_summary").fetchone()[0]
            return (
                rule,
                view_row_counts(con),
                {name: table_schema(con, name) for name in views},
                streak_card(con, today),
                checks,
                total_km,
            )

        rule, counts, schemas, card, checks, total_km = storage.write(refresh)
        current, longest = card["current"], card["longest"]
        log_progress(
            context,
            f"streak as of {today}: current {current['days']} days ({current['status']}), "
            f"longest {longest['days']} days",
        )
        numbers = {
            "current_streak_days": current["days"],
            "longest_streak_days": longest["days"],
            "streak_count": card["streak_count"],
            "total_km": round(float(total_km), 3),  # metres resolution; hides float summation noise
            "today_km": card["today"]["km"],
            "needed_today_km": card["today"]["needed_km"],
            "year_km": card["distance_km"]["year"],
        }
        for name in views:
            metadata = {
                "dagster/row_count": counts.get(name, 0),
                "dagster/column_schema": schemas[name],
                "rule_min_km": rule.min_km,
                "rule_mode": rule.mode,
            }
            if name == "current_streak":
                metadata.update(numbers)
                metadata["streak_card"] = dg.MetadataValue.md(format_card_markdown(card))
                metadata["status"] = current["status"]
                metadata.update(storage.publish_metadata())
            if name == "streak_analysis":
                metadata.update({k: numbers[k] for k in ("longest_streak_days", "streak_count")})
            if name in ("daily_summary", "yearly_summary"):
                metadata["total_km"] = numbers["total_km"]
            yield dg.MaterializeResult(asset_key=name, metadata=metadata)
        yield check_result(
            "longest_streak_covers_current",
            "current_streak",
            checks["longest_streak_covers_current"],
            description="longest streak < current streak",
        )
        yield check_result(
            "monthly_totals_match_daily",
            "monthly_summary",
            checks["monthly_totals_match_daily"],
            description="months whose totals differ from their days",
        )
        overrides = check_result(
            "no_days_resting_on_overrides",
            "current_streak",
            checks["no_days_resting_on_overrides"],
            description="days of the current streak that rest on an override",
        )
        yield dg.AssetCheckResult(
            check_name=overrides.check_name,
            asset_key=overrides.asset_key,
            passed=overrides.passed,
            metadata=overrides.metadata,
            description=overrides.description,
            severity=dg.AssetCheckSeverity.WARN,
        )

    return analytics


CALENDAR_FILE = "streak_calendar.png"
THUMBNAIL_YEARS = 3  # the inline picture stays small (tens of kB) in the event log
THUMBNAIL_CELL_PX = 8
FALLBACK_DIR = Path(".myrunstreak")  # when the database is not a local file


def calendar_dir(configured: str | None, database: str) -> Path:
    """MYRUNSTREAK_CALENDAR_DIR, else the database's folder (local path), else .myrunstreak/."""
    if configured:
        return Path(configured).expanduser().resolve()
    if is_s3_uri(database):
        return FALLBACK_DIR.resolve()
    return Path(database).expanduser().resolve().parent


def build_calendar_asset(settings: Settings) -> dg.AssetsDefinition:
    """``streak_calendar``: the year-by-year heatmap of daily distance with the streak days marked, as a PNG.

    Written next to the database (or into MYRUNSTREAK_CALENDAR_DIR), linked in the materialization metadata as a
    path, and embedded as a small inline PNG (the last few years) so the asset page shows it. Read-only on the
    database, but in the DuckDB pool anyway: a read-only open fails while another process writes the file.
    """

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
        target = calendar_dir(settings.calendar_dir, storage.database) / CALENDAR_FILE
        try:
            with storage.reader() as db:
                grid = calendar_grid(db.connection, years=settings.calendar_years)
                thumbnail_grid = calendar_grid(db.connection, years=THUMBNAIL_YEARS)
        except NoRunsYetError:  # e.g. only a drop folder, still empty: nothing to draw is not a failure
            log_progress(context, "streak calendar: no runs yet, nothing drawn")
            return dg.MaterializeResult(metadata={"years_drawn": 0, "note": "no runs in the database yet"})
        drawing = render_calendar(grid, target)
        thumbnail = render_calendar(thumbnail_grid, cell_px=THUMBNAIL_CELL_PX)
        inline = base64.b64encode(thumbnail.png).decode("ascii")
        log_progress(context, f"streak calendar {grid.years[-1]}..{grid.years[0]} written to {target}")
        return dg.MaterializeResult(
            metadata={
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
            }
        )

    return streak_calendar
