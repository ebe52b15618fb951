"""The package's rooms keep to docs/architecture.md: who may import whom, no cycles, small modules, one reader of
the environment, and the single sources of truth (settings table, runs columns) in step with what uses them."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import duckdb
import pytest

from myrunstreak_pipeline.duckdb_ops import DuckDBManager
from myrunstreak_pipeline.duckdb_ops.staging import RUNS_COLUMNS
from myrunstreak_pipeline.models import Activity
from myrunstreak_pipeline.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "myrunstreak_pipeline"
MAX_MODULE_LINES = 400

# room -> the rooms it may import (docs/architecture.md, "Who may import whom"). Lazy imports count too.
ALLOWED = {
    "errors": set(),
    "sql": set(),
    "settings": {"errors"},
    "today": {"errors"},
    "models": {"errors"},
    "sandbox": {"errors", "models"},
    "files": {"errors", "models"},
    "imports": {"errors", "settings", "sql", "today", "models", "files", "duckdb_ops"},
    "duckdb_ops": {"errors", "settings", "sql", "today", "models"},
    "analytics": {"errors", "settings", "sql", "today"},
    "smashrun": {"errors", "settings", "models", "duckdb_ops"},
    "defs": {"errors", "settings", "sql", "today", "models", "duckdb_ops", "analytics", "smashrun", "imports"},
    "definitions": {"defs", "settings"},
    "api": {"errors", "settings", "sql", "today", "models", "duckdb_ops", "analytics"},
    "cli": {
        "errors",
        "settings",
        "sql",
        "today",
        "models",
        "duckdb_ops",
        "analytics",
        "smashrun",
        "sandbox",
        "files",
        "imports",
        "defs",
        "definitions",
        "api",
    },
}
DAGSTER_ROOMS = {"defs", "definitions", "cli"}  # everything else is plain Python, testable without Dagster


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = _modules()


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else "<package>"


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Internal modules imported by ``path`` (``from pkg import sub`` resolves to the submodule when it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in MODULES and name != "myrunstreak_pipeline"}


def test_no_import_cycles_between_modules():
    graph = {name: _imports(path, top_level_only=True) - {name} for name, path in MODULES.items()}
    # a package's __init__ importing its own submodules is how packages work, not a cycle
    for name in graph:
        graph[name] = {dep for dep in graph[name] if not dep.startswith(name + ".")}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_rooms_import_only_what_the_architecture_allows():
    problems = []
    for name, path in MODULES.items():
        room = _room(name)
        if room == "<package>":
            continue
        for dep in _imports(path, top_level_only=False):
            other = _room(dep)
            if other != room and other not in ALLOWED[room]:
                problems.append(f"{name} imports {dep}")
        uses_dagster = re.search(r"^\s*(import dagster|from dagster)", path.read_text(encoding="utf-8"), re.MULTILINE)
        if uses_dagster and room not in DAGSTER_ROOMS:
            problems.append(f"{name} imports Dagster")
    assert not problems, "\n".join(problems)


def test_every_room_is_known():
    assert {_room(name) for name in MODULES} - {"<package>"} == set(ALLOWED)


# Dagster checks asset functions' context and resource annotations against the real classes when it builds the
# definitions, so the modules that declare assets, schedules and sensors keep eager annotations.
EAGER_ANNOTATIONS = {
    f"myrunstreak_pipeline.defs.{name}"
    for name in ("analytics", "automation", "details", "files", "ingest", "reminder")
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small_and_postponed_annotations(name):
    text = MODULES[name].read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name} is over {MAX_MODULE_LINES} lines: split it"
    has_code = any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in ast.parse(text).body
    )
    if has_code and name not in EAGER_ANNOTATIONS:
        assert "from __future__ import annotations" in text, name


def test_only_the_settings_module_reads_the_environment():
    readers = re.compile(r"os\.getenv|os\.environ\.get|os\.environ\[[^\]]+\](?!\s*=)|environ\.copy")
    offenders = [
        name
        for name, path in MODULES.items()
        if name != "myrunstreak_pipeline.settings" and readers.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders


def test_readme_variable_table_matches_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set()
    for line in readme.splitlines():
        if line.startswith("| `"):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    assert documented == set(Settings.variables())


def test_runs_columns_have_one_source(tmp_path):
    """The staged columns are model fields, and with the derived and bookkeeping columns they are the schema."""
    derived = {
        "start_date_time_local",
        "start_date_time_local_raw",
        "utc_offset_minutes",
        "start_time_utc",
        "start_date",
        "year",
        "month",
        "day",
        "day_of_week",
        "iso_year",
        "iso_week",
        "pace_min_per_km",
        "speed_kph",
        "deleted",
        "deleted_as_of_utc",
        "data_source",
        "first_loaded_at",
        "last_loaded_at",
    }
    staged = [name for name, _type in RUNS_COLUMNS]
    assert len(staged) == len(set(staged)) and set(staged) <= set(Activity.model_fields)
    with DuckDBManager(tmp_path / "schema.duckdb") as manager:
        columns = {row[0] for row in manager.connection.execute("DESCRIBE runs").fetchall()}
    assert columns == set(staged) | derived
    assert not set(staged) & derived
    merge = (ROOT / "sql" / "queries" / "repository" / "merge_runs.sql").read_text(encoding="utf-8")
    updated = set(re.findall(r"^\s*(\w+)\s+=", merge, re.M))
    assert updated == (set(staged) | derived) - {"activity_id", "first_loaded_at"}


def test_sql_files_parse_in_duckdb():
    """Every SQL file is valid DuckDB SQL (the parser alone). ATTACH takes no parameters, so its one file is a
    template whose literal is filled in (escaped) by the S3 reader."""
    con = duckdb.connect()
    for path in sorted((ROOT / "sql").rglob("*.sql")):
        text = path.read_text(encoding="utf-8").replace("{database_literal}", "'s3://bucket/key.duckdb'")
        con.extract_statements(text)
