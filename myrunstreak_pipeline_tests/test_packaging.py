"""A wheel (non-editable install) must carry everything the package reads at run time: every SQL file and the
Dagster instance template. The flat layout keeps sql/ outside the package, so this is easy to break."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _clean_source_tree(target: Path) -> Path:
    """The project's files as a fresh clone has them: a build in the checkout itself would also pick up the
    files an earlier editable install listed in its (untracked) egg-info, hiding a packaging mistake."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def test_wheel_carries_sql_files_and_instance_template(tmp_path):
    source = _clean_source_tree(tmp_path / "source")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("myrunstreak_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected_sql = {
        f"myrunstreak_pipeline/sql_files/{path.relative_to(ROOT / 'sql').as_posix()}"
        for path in (ROOT / "sql").rglob("*.sql")
    }
    assert len(expected_sql) > 40
    assert expected_sql <= names, sorted(expected_sql - names)
    assert "myrunstreak_pipeline/cli/dagster_instance.yaml" in names
    assert not any(name.startswith("myrunstreak_pipeline_tests/") for name in names)
