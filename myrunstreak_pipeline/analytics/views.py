"""The analytics views published as Dagster assets, discovered from ``sql/views/*.sql`` (the one list of them).

A view is published when the comment line right above its ``CREATE OR REPLACE VIEW`` reads ``-- asset: <what it
holds>``; that text becomes the asset's description. Helper views (``run_days``, ``streak_audit``) carry no such
line and stay internal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from myrunstreak_pipeline.sql import load_sql, sql_files

_PUBLISHED_VIEW = re.compile(r"^-- asset: (?P<description>.+)\nCREATE OR REPLACE VIEW (?P<name>\w+) AS\b", re.MULTILINE)


@dataclass(frozen=True)
class PublishedView:
    name: str
    description: str


@cache
def published_views() -> tuple[PublishedView, ...]:
    """Every published view, in the order the view files (and the views within them) are applied."""
    views = []
    for path in sql_files("views"):
        text = path.read_text(encoding="utf-8")
        views += [PublishedView(m["name"], m["description"].strip()) for m in _PUBLISHED_VIEW.finditer(text)]
    return tuple(views)


def view_row_counts(con) -> dict[str, int]:
    """``dagster/row_count`` of each published view."""
    query = load_sql("queries/analytics/relation_row_count.sql")
    return {view.name: con.execute(query, {"relation": view.name}).fetchone()[0] for view in published_views()}
