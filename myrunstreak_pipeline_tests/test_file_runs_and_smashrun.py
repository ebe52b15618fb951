"""SmashRun's view of the world never touches runs from activity files: a window listing without them, a 404 for
their id, the sensor's id reconciliation and the detail queue all leave them alone (each was a way to lose a
runner's imported history on the next sync)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.imports import discover, import_files
from myrunstreak_pipeline_tests.fixtures import payloads

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files"
FILE = FIXTURES / "fit" / "run_fr645m_laps_hr.fit"


def _imported(manager: DuckDBManager) -> tuple[RunRepository, str, dt.date]:
    repo = RunRepository(manager.connection)
    summary = import_files(discover([FILE]), repo.store_activity_files, workers=1)
    [activity_id] = summary.activity_ids
    day = manager.connection.execute("SELECT start_date FROM runs WHERE activity_id = ?", [activity_id]).fetchone()[0]
    return repo, activity_id, day


def _live(manager: DuckDBManager, activity_id: str) -> bool:
    row = manager.connection.execute("SELECT NOT deleted FROM runs WHERE activity_id = ?", [activity_id]).fetchone()
    return bool(row and row[0])


def test_a_smashrun_window_listing_without_the_file_run_does_not_delete_it():
    with DuckDBManager() as manager:
        repo, activity_id, day = _imported(manager)
        smashrun_run = payloads.gps_run(77)
        repo.upsert_activities([smashrun_run])
        year = dt.date(day.year, 1, 1)
        result = repo.replace_window(year, dt.date(day.year + 1, 1, 1), [], listed_at=dt.datetime(2100, 1, 1))
        assert _live(manager, activity_id)
        assert result.marked_deleted == 0 or not _live(manager, "77")
        # the window of the SmashRun run does flag it (the listing no longer has it): the rule still works
        other = dt.date.fromisoformat(smashrun_run["startDateTimeLocal"][:10])
        repo.replace_window(other, other + dt.timedelta(days=1), [], listed_at=dt.datetime(2100, 1, 1))
        assert not _live(manager, "77")


def test_a_404_for_a_file_id_the_reconciliation_and_the_detail_queue_leave_it_alone():
    with DuckDBManager() as manager:
        repo, activity_id, _day = _imported(manager)
        assert repo.mark_deleted([activity_id], as_of=dt.datetime(2100, 1, 1)) == 0
        assert _live(manager, activity_id)
        assert activity_id not in repo.stored_run_versions()  # the sensor compares these with SmashRun's ids
        assert activity_id not in repo.ids_needing_details(100)  # stored whole: nothing to fetch from SmashRun
        assert repo.count_needing_details() == 0
