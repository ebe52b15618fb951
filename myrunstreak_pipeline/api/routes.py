"""The query API's routes (design.md §6). Each reads through ``app.answer`` (one database version, ETag, 304)
and the repository's read methods; the shapes are the models of ``schemas.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from myrunstreak_pipeline.analytics.report import streak_card
from myrunstreak_pipeline.api import schemas
from myrunstreak_pipeline.api.app import CACHE_CONTROL, STATIC_DIR, ReadContext, _matches, answer
from myrunstreak_pipeline.api.problems import ApiProblem, bad_parameter
from myrunstreak_pipeline.duckdb_ops.read_queries import MAX_PAGE, decode_cursor

router = APIRouter()
PROBLEMS = {
    422: {"model": schemas.Problem, "description": "a bad parameter (named in `errors`)"},
    503: {"model": schemas.Problem, "description": "the database is missing or cannot be read"},
}
DateParam = Annotated[dt.date | None, Query(description="YYYY-MM-DD, in the runner's zone")]
CALENDAR_YEARS_MAX = 100


def _date_range(from_date: dt.date | None, to_date: dt.date | None) -> None:
    if from_date and to_date and from_date > to_date:
        raise bad_parameter("from", f"{from_date} is after to={to_date}")


@router.get("/v1/health", response_model=schemas.Health, responses=PROBLEMS, tags=["status"])
def health(request: Request) -> Response:
    """The database's version and size, when the pipeline last synced, and how many runs it holds."""

    def build(context: ReadContext) -> dict:
        facts = context.repository.database_health()
        return {
            "status": "ok",
            "schema_version": int(facts["schema_version"]),
            "database": {
                "etag": context.version.etag,
                "size_bytes": context.version.size_bytes,
                "last_sync_utc": facts["last_sync_utc"],
            },
            "runs": int(facts["runs"]),
        }

    return answer(request, build, model=schemas.Health)


@router.get("/v1/streak", response_model=schemas.Streak, responses=PROBLEMS, tags=["streaks"])
def streak(request: Request, today: DateParam = None) -> Response:
    """Exactly ``myrunstreak streak --json`` as of the runner's today (or ``?today=``), plus today's progress."""

    def build(context: ReadContext) -> dict:
        card = streak_card(context.connection, context.today, context.min_km, context.mode)
        card["current"].pop("years_days", None)
        card.pop("distance_km", None)
        card.pop("next_milestones", None)  # the text card's only: /v1/streak stays `streak --json` + today
        return card

    return answer(request, build, today=today, model=schemas.Streak)


@router.get("/v1/streaks", response_model=schemas.StreakList, responses=PROBLEMS, tags=["streaks"])
def streaks(
    request: Request,
    min_days: Annotated[int, Query(ge=1, description="only streaks at least this long")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Every streak through the runner's today, longest first (ties: the more recent first)."""

    def build(context: ReadContext) -> dict:
        items, total = context.repository.list_streaks(
            context.today, context.min_km, context.mode, min_days=min_days, limit=limit, offset=offset
        )
        return {"items": items, "total": total}

    return answer(request, build, model=schemas.StreakList)


@router.get("/v1/runs", response_model=schemas.RunPage, responses=PROBLEMS, tags=["runs"])
def runs(
    request: Request,
    from_date: Annotated[dt.date | None, Query(alias="from", description="first local date (YYYY-MM-DD)")] = None,
    to_date: Annotated[dt.date | None, Query(alias="to", description="last local date (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    after: Annotated[str | None, Query(description="the `next` cursor of the previous page")] = None,
) -> Response:
    """Runs newest first, keyset-paged on (local start, activity id): follow ``next`` until it is null. A run two
    sources recorded is listed once (the record kept); rides and other sports are listed (``activity_type``)."""
    _date_range(from_date, to_date)
    try:
        position = decode_cursor(after) if after is not None else None
    except ValueError as error:
        raise bad_parameter("after", str(error)) from None

    def build(context: ReadContext) -> dict:
        items, cursor = context.repository.runs_page(from_date=from_date, to_date=to_date, limit=limit, after=position)
        return {"items": items, "next": cursor}

    return answer(request, build, model=schemas.RunPage)


@router.get(
    "/v1/runs/{activity_id}",
    response_model=schemas.RunDetail,
    responses={**PROBLEMS, 404: {"model": schemas.Problem, "description": "no such run"}},
    tags=["runs"],
)
def run(request: Request, activity_id: Annotated[str, PathParam(max_length=64)]) -> Response:
    """One run, a record merged away as a duplicate included (``duplicate_of``): the summary fields, ``file`` for
    a run imported from a file, ``laps`` and ``recording`` once details were fetched."""

    def build(context: ReadContext) -> dict:
        found = context.repository.run_detail(activity_id)
        if found is None:
            raise ApiProblem(404, f"no run with activity_id {activity_id!r}")
        return found

    return answer(request, build, model=schemas.RunDetail)


@router.get("/v1/summaries/{period}", response_model=schemas.SummaryList, responses=PROBLEMS, tags=["summaries"])
def summaries(
    request: Request,
    period: Literal["daily", "weekly", "monthly", "yearly"],
    from_date: Annotated[dt.date | None, Query(alias="from", description="first period start (YYYY-MM-DD)")] = None,
    to_date: Annotated[dt.date | None, Query(alias="to", description="last period start (YYYY-MM-DD)")] = None,
) -> Response:
    """The ``daily_summary`` / ``weekly_summary`` / ``monthly_summary`` / ``yearly_summary`` view."""
    _date_range(from_date, to_date)
    return answer(
        request,
        lambda context: {"items": context.repository.summaries(period, from_date=from_date, to_date=to_date)},
        model=schemas.SummaryList,
    )


@router.get("/v1/records", response_model=schemas.RecordList, responses=PROBLEMS, tags=["summaries"])
def records(request: Request) -> Response:
    """The ``personal_records`` view."""
    return answer(request, lambda context: {"items": context.repository.personal_records()}, model=schemas.RecordList)


@router.get("/v1/trends", response_model=schemas.Trends, responses=PROBLEMS, tags=["summaries"])
def trends(request: Request) -> Response:
    """The ``distance_trends`` row of the runner's today: rolling 7/28/365 days, year to date vs earlier years."""
    return answer(request, lambda context: context.repository.trends(context.today), model=schemas.Trends)


@router.get("/v1/eddington", response_model=schemas.Eddington, responses=PROBLEMS, tags=["summaries"])
def eddington(request: Request) -> Response:
    """The Eddington number in km and in miles, and the days still needed for the next one."""
    return answer(request, lambda context: context.repository.eddington_numbers(), model=schemas.Eddington)


@router.get(
    "/v1/calendar.svg",
    responses={**PROBLEMS, 200: {"content": {"image/svg+xml": {}}, "description": "the heatmap"}},
    response_class=Response,
    tags=["streaks"],
)
def calendar(
    request: Request, years: Annotated[int, Query(ge=1, le=CALENDAR_YEARS_MAX, description="last N years")] = 10
) -> Response:
    """The streak calendar heatmap (the drawing of ``myrunstreak streak --calendar``) as SVG."""

    def build(context: ReadContext) -> bytes:
        from myrunstreak_pipeline.analytics.calendar import write_calendar

        with tempfile.TemporaryDirectory(prefix="myrunstreak-api-") as folder:
            target = Path(folder) / "calendar.svg"
            write_calendar(context.connection, target, years=years, through=context.today)
            return target.read_bytes()

    return answer(request, build, media_type="image/svg+xml")


@router.get("/", response_class=Response, include_in_schema=False)
def page(request: Request) -> Response:
    """The streak page: one self-contained HTML file (``static/index.html``)."""
    path = STATIC_DIR / "index.html"
    try:
        content = path.read_bytes()
    except OSError:
        raise ApiProblem(404, "the streak page is not installed") from None
    tag = f'W/"page.{hashlib.sha256(content).hexdigest()[:20]}"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="text/html; charset=utf-8", headers=headers)
