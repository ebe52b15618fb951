"""The streak calendar: a GitHub-contribution-style heatmap of daily distance, one block of weeks per year.

Each year is a strip of 7 rows (Monday on top) by 54 week columns, newest year on top; the cell colour is the
day's distance (km), light grey is a day without runs, and an orange dot marks every day that lies in a streak
of ``streak_analysis`` (red for the longest streak). Data comes from ``sql/queries/analytics/calendar_*.sql``
(the ``daily_summary`` and ``streak_analysis`` views); drawing is one ``imshow`` plus one ``scatter`` on a
``matplotlib.figure.Figure`` with the Agg canvas (no pyplot global state, no display needed), so 55 years
render in about a second.

    grid = calendar_grid(con, years=10)                 # None: every year with runs
    drawing = render_calendar(grid, "calendar.png")     # .png or .svg; drawing.pixel(day) -> (x, y) in the PNG
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

DEFAULT_YEARS = 10  # the last N years by default: 55 stacked years are legible only in a tall picture
WEEK_COLUMNS = 54  # a year touches at most 54 Monday-started weeks (Jan 1 on a Sunday of a leap year)
GAP_ROWS = 2  # blank rows between two years' blocks
NO_RUN_COLOUR = (0.922, 0.929, 0.941, 1.0)  # GitHub's empty-cell grey (#ebedf0)
BACKGROUND = (1.0, 1.0, 1.0, 1.0)  # days outside the year (and after `through`) are not drawn
STREAK_DOT = "#ff8c00"  # orange and raspberry stand out on every shade of the green scale
LONGEST_DOT = "#c2185b"
COLOURMAP = "YlGn"
DPI = 100
CELL_PX = 16  # cell size for a few years ...
MIN_CELL_PX = 10  # ... shrinking for many years down to this, so the height stays near MAX_HEIGHT_PX
MAX_HEIGHT_PX = 5000
SUFFIXES = (".png", ".svg")


@dataclass
class CalendarGrid:
    """What the picture shows, as arrays of shape (len(years), 7, WEEK_COLUMNS), ``years`` newest first.

    ``km``: the day's distance, 0.0 for a day without runs, NaN for cells that are not a drawn day.
    ``streak``: the day lies in a streak of ``streak_analysis``; ``longest``: in the longest one.
    """

    years: list[int]
    km: np.ndarray
    streak: np.ndarray
    longest: np.ndarray
    through: dt.date | None = None

    def cell(self, day: dt.date) -> tuple[int, int, int]:
        """(year index, weekday row 0=Monday, week column) of ``day``; KeyError when its year is not drawn."""
        try:
            index = self.years.index(day.year)
        except ValueError:
            raise KeyError(f"{day.year} is not in the calendar ({self.years[-1]}..{self.years[0]})") from None
        return index, day.weekday(), week_column(day)

    def streak_days(self) -> set[dt.date]:
        """The days drawn with a streak dot (for comparing with ``streak_analysis``)."""
        return {day for day in self._days() if self.streak[self.cell(day)]}

    def _days(self):
        for year in self.years:
            day = dt.date(year, 1, 1)
            while day.year == year:
                yield day
                day += dt.timedelta(days=1)


@dataclass
class CalendarDrawing:
    """A rendered calendar: the grid, the file written (if any), the PNG bytes and the cell-to-pixel mapping."""

    grid: CalendarGrid
    path: Path | None
    png: bytes | None
    width_px: int
    height_px: int
    _x: tuple[float, float]  # pixel x = a * column + b
    _y: tuple[float, float]  # pixel y (from the top) = a * image row + b

    def pixel(self, day: dt.date) -> tuple[int, int]:
        """The (x, y) pixel of ``day``'s cell centre in the PNG (origin top-left)."""
        index, row, column = self.grid.cell(day)
        image_row = index * (7 + GAP_ROWS) + row
        return (math.floor(self._x[0] * column + self._x[1]), math.floor(self._y[0] * image_row + self._y[1]))


class NoRunsYetError(MyRunStreakError):
    """An empty database: nothing to draw (the Dagster asset records that instead of failing)."""


def week_column(day: dt.date) -> int:
    """The Monday-started week of the year ``day`` falls in, 0 for the week holding January 1st."""
    jan1 = dt.date(day.year, 1, 1)
    return (day.timetuple().tm_yday - 1 + jan1.weekday()) // 7


def calendar_grid(con, years: int | None = DEFAULT_YEARS, through: dt.date | None = None) -> CalendarGrid:
    """The cells for the last ``years`` years with runs (None: all of them), up to ``through`` (default: the
    last day with runs). Reads ``daily_summary`` and ``streak_analysis`` (the stored streak rule)."""
    if years is not None and years < 1:
        raise MyRunStreakError(
            f"the calendar needs at least one year, got {years}", hint="use --calendar-years 1 or more"
        )
    first_year, last_year = con.execute(load_sql("queries/analytics/calendar_years.sql")).fetchone()
    if first_year is None:
        raise NoRunsYetError(
            "no runs in the database yet, so there is no calendar to draw",
            hint="run `myrunstreak run` (or `myrunstreak demo`) first",
        )
    if through is not None:
        last_year = through.year
    if years is not None:
        first_year = max(first_year, last_year - years + 1)
    first_year = min(first_year, last_year)
    rows = con.execute(
        load_sql("queries/analytics/calendar_days.sql"),
        {"first_day": dt.date(first_year, 1, 1), "last_day": through or dt.date(last_year, 12, 31)},
    ).fetchnumpy()

    year_list = list(range(last_year, first_year - 1, -1))  # newest on top
    shape = (len(year_list), 7, WEEK_COLUMNS)
    km = np.full(shape, np.nan)
    # Every real day of each year (up to `through`) starts as "no run": vectorised over a date range.
    all_days = np.arange(np.datetime64(f"{first_year}-01-01"), np.datetime64(f"{last_year + 1}-01-01"))
    if through is not None:
        all_days = all_days[all_days <= np.datetime64(through)]
    km[_cells(all_days, last_year)] = 0.0
    streak = np.zeros(shape, dtype=bool)
    longest = np.zeros(shape, dtype=bool)
    if len(rows["day"]):
        cells = _cells(rows["day"].astype("datetime64[D]"), last_year)
        km[cells] = rows["total_km"].astype(float)
        streak[cells] = rows["in_streak"].astype(bool)
        longest[cells] = rows["in_longest_streak"].astype(bool)
    return CalendarGrid(years=year_list, km=km, streak=streak, longest=longest, through=through)


def _cells(days: np.ndarray, last_year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (year index, weekday, week column) for an array of datetime64[D] days."""
    year = days.astype("datetime64[Y]")
    jan1 = year.astype("datetime64[D]")
    day_of_year = (days - jan1).astype(int)
    jan1_weekday = (jan1.astype(int) + 3) % 7  # 1970-01-01 was a Thursday (3, with Monday = 0)
    weekday = (days.astype(int) + 3) % 7
    column = (day_of_year + jan1_weekday) // 7
    index = last_year - (year.astype(int) + 1970)
    return index, weekday, column


def render_calendar(
    grid: CalendarGrid, path: str | Path | None = None, *, cell_px: int | None = None, title: str | None = None
) -> CalendarDrawing:
    """Draw ``grid``; write it to ``path`` (.png or .svg) when given. Always returns the PNG bytes too when no
    path or a .png path is given (the asset embeds a small one in its metadata)."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    target = Path(path) if path is not None else None
    if target is not None and target.suffix.lower() not in SUFFIXES:
        raise MyRunStreakError(f"unsupported calendar file type: {target.name}", hint="name the file *.png or *.svg")

    n_years = len(grid.years)
    image_rows = n_years * (7 + GAP_ROWS) - GAP_ROWS
    if cell_px is None:
        cell_px = int(max(MIN_CELL_PX, min(CELL_PX, (MAX_HEIGHT_PX - 160) // image_rows)))
    cell_in = cell_px / DPI
    left_in, right_in, top_in, bottom_in = 1.3, 0.25, 0.75, 0.55
    width_in = left_in + right_in + WEEK_COLUMNS * cell_in
    height_in = top_in + bottom_in + image_rows * cell_in
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(
        (left_in / width_in, bottom_in / height_in, WEEK_COLUMNS * cell_in / width_in, image_rows * cell_in / height_in)
    )

    # One RGBA image: year blocks separated by blank rows.
    drawn = grid.km[~np.isnan(grid.km)]
    vmax = max(5.0, float(np.percentile(drawn[drawn > 0], 95))) if (drawn > 0).any() else 5.0
    norm = Normalize(vmin=0.0, vmax=vmax)
    cmap = colormaps[COLOURMAP]
    image = np.tile(np.array(BACKGROUND), (image_rows, WEEK_COLUMNS, 1))
    for index in range(n_years):
        block = grid.km[index]
        rgba = cmap(0.2 + 0.8 * norm(np.nan_to_num(block, nan=0.0)).clip(0, 1))  # 0.2: short runs stay visible
        rgba[block == 0] = NO_RUN_COLOUR
        rgba[np.isnan(block)] = BACKGROUND
        top = index * (7 + GAP_ROWS)
        image[top : top + 7] = rgba
    ax.imshow(image, interpolation="nearest", aspect="auto", extent=(-0.5, WEEK_COLUMNS - 0.5, image_rows - 0.5, -0.5))

    # White cell borders, as two line collections (not one patch per cell).
    border = max(0.6, cell_px * 0.12) * 72 / DPI
    ax.vlines(np.arange(-0.5, WEEK_COLUMNS), -0.5, image_rows - 0.5, colors="white", linewidth=border)
    ax.hlines(np.arange(-0.5, image_rows), -0.5, WEEK_COLUMNS - 0.5, colors="white", linewidth=border)

    # Streak dots: one scatter per colour.
    dot_size = (0.42 * cell_px * 72 / DPI) ** 2
    for mask, colour in ((grid.streak & ~grid.longest, STREAK_DOT), (grid.longest, LONGEST_DOT)):
        index, row, column = np.nonzero(mask)
        ax.scatter(column, index * (7 + GAP_ROWS) + row, s=dot_size, c=colour, marker="o", linewidths=0)

    ax.set_xlim(-0.5, WEEK_COLUMNS - 0.5)
    ax.set_ylim(image_rows - 0.5, -0.5)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    # Year labels with the year's distance; month labels along the top (first day of each month, leap year).
    totals = np.nansum(grid.km, axis=(1, 2))
    ax.set_yticks(
        [index * (7 + GAP_ROWS) + 3 for index in range(n_years)],
        [f"{year}  {total:,.0f} km" for year, total in zip(grid.years, totals)],
        fontsize=max(6, min(9, cell_px * 0.6)),
    )
    months = [dt.date(2024, month, 1) for month in range(1, 13)]
    ax.xaxis.tick_top()
    ax.set_xticks([week_column(day) for day in months], [f"{day:%b}" for day in months], fontsize=8)
    ax.tick_params(length=0)
    span = f"{grid.years[-1]}–{grid.years[0]}" if n_years > 1 else str(grid.years[0])
    longest_days = int(grid.longest.sum())
    fig.suptitle(
        title or f"Streak calendar {span}",
        x=left_in / width_in,
        ha="left",
        fontsize=12,
        y=1 - 0.12 / height_in,
        va="top",
    )
    legend = f"colour = km per day (darkest ≥ {vmax:.0f} km; grey = no run)\norange ● streak day"
    if longest_days:
        legend += f" · red ● longest streak ({longest_days:,} of its days shown)"
    fig.text(left_in / width_in, 0.08 / height_in, legend, fontsize=8, color="#444444", va="bottom")

    fig.canvas.draw()
    width_px, height_px = fig.canvas.get_width_height()
    # Linear data -> pixel mapping of this axes (display origin bottom-left; PNG origin top-left).
    (x0, y0), (x1, y1) = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
    x_map = (x1 - x0, x0)
    y_map = (-(y1 - y0), height_px - y0)

    png = None
    if target is None or target.suffix.lower() == ".png":
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
        png = buffer.getvalue()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if png is not None:
            target.write_bytes(png)
        else:
            fig.savefig(target, format="svg", dpi=DPI)
    return CalendarDrawing(grid=grid, path=target, png=png, width_px=width_px, height_px=height_px, _x=x_map, _y=y_map)


def write_calendar(
    con,
    path: str | Path | None = None,
    *,
    years: int | None = DEFAULT_YEARS,
    through: dt.date | None = None,
    cell_px: int | None = None,
) -> CalendarDrawing:
    """``calendar_grid`` + ``render_calendar`` in one call (the CLI and the asset use this)."""
    return render_calendar(calendar_grid(con, years=years, through=through), path, cell_px=cell_px)
