"""User errors end in one clear line plus a hint, exit status 2, no traceback and no secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from myrunstreak_pipeline import cli
from myrunstreak_pipeline.errors import MyRunStreakError

BIN = Path(sys.executable).parent
SECRET = "h7-cli-secret-token-91ac"


def _closed_port() -> int:
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("SMASHRUN_", "MYRUNSTREAK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("SMASHRUN_TOKEN_FILE", str(tmp_path / "no_token.json"))
    monkeypatch.setenv("MYRUNSTREAK_DB", str(tmp_path / "runs.duckdb"))
    return tmp_path


def _assert_one_line_error(code: int, err: str, *phrases: str) -> None:
    assert code == 2
    assert "Traceback" not in err and SECRET not in err
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], err
    for phrase in phrases:
        assert phrase in err


def test_run_without_credentials(run_env, capsys):
    code = cli.main(["run"])
    _assert_one_line_error(code, capsys.readouterr().err, "no SmashRun credentials", "SMASHRUN_ACCESS_TOKEN")
    assert not (run_env / "runs.duckdb").exists()  # nothing was started


def test_run_with_unreachable_api_in_a_subprocess(run_env):
    env = {**os.environ, "SMASHRUN_ACCESS_TOKEN": SECRET, "SMASHRUN_API_BASE": f"http://127.0.0.1:{_closed_port()}/v1"}
    result = subprocess.run(
        [str(BIN / "myrunstreak"), "run", "--full"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    _assert_one_line_error(result.returncode, result.stderr, "cannot reach the SmashRun API", "myrunstreak sandbox")
    assert SECRET not in result.stdout


def test_run_with_a_bad_database_path(run_env, monkeypatch, capsys):
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("MYRUNSTREAK_DB", str(run_env))  # a folder
    _assert_one_line_error(cli.main(["run"]), capsys.readouterr().err, "is a folder")
    not_duckdb = run_env / "notes.duckdb"
    not_duckdb.write_text("these are not the runs you are looking for\n" * 4)
    monkeypatch.setenv("MYRUNSTREAK_DB", str(not_duckdb))
    _assert_one_line_error(cli.main(["run"]), capsys.readouterr().err, "not a DuckDB database")
    assert not_duckdb.read_text().startswith("these are not")  # untouched


def test_streak_with_bad_database_paths(run_env, capsys):
    _assert_one_line_error(
        cli.main(["streak", "--db", str(run_env / "missing.duckdb")]), capsys.readouterr().err, "database not found"
    )
    not_duckdb = run_env / "notes.duckdb"
    not_duckdb.write_text("plain text\n" * 10)
    _assert_one_line_error(
        cli.main(["streak", "--db", str(not_duckdb)]), capsys.readouterr().err, "cannot open database"
    )


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("MYRUNSTREAK_DETAIL_BUDGET", "fifty", "MYRUNSTREAK_DETAIL_BUDGET must be a whole number"),
        ("MYRUNSTREAK_DETAIL_BUDGET", "-1", "MYRUNSTREAK_DETAIL_BUDGET must be a whole number >= 0"),
        ("MYRUNSTREAK_STREAK_MODE", "loose", "MYRUNSTREAK_STREAK_MODE must be 'sum' or 'strict'"),
    ],
)
def test_run_with_a_bad_setting(run_env, monkeypatch, capsys, name, value, phrase):
    with socket.socket() as listener:  # reachable API host, so the check that fails is the setting's
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("SMASHRUN_API_BASE", f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
        monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", SECRET)
        monkeypatch.setenv(name, value)
        code = cli.main(["run"])
    _assert_one_line_error(code, capsys.readouterr().err, phrase)


def test_a_bad_flag_is_one_line_and_a_hint(run_env, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sandbox", "--port", "99999"])
    assert exit_.value.code == 2
    _assert_one_line_error(2, capsys.readouterr().err, "--port", "myrunstreak sandbox --help")


def test_a_port_in_use_names_the_flag(run_env, monkeypatch, capsys):
    monkeypatch.setenv("SMASHRUN_CLIENT_ID", "app")
    monkeypatch.setenv("SMASHRUN_CLIENT_SECRET", SECRET)
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        for argv in (["sandbox", "--port", port], ["auth", "--no-browser", "--port", port]):
            code = cli.main(argv)
            _assert_one_line_error(code, capsys.readouterr().err, f"--port {port}", "in use", "--port")


def test_the_api_preflight_finds_a_broken_api(sandbox):
    from myrunstreak_pipeline.cli.preflight import check_api_reachable

    check_api_reachable(sandbox.api_base)  # healthy: refuses a request without a token
    for break_it, phrase in [
        (lambda: sandbox.inject(status=500, count=None), "answers HTTP 500"),
        (lambda: sandbox.inject_garbage(count=None), "HTTP 200: not the SmashRun API"),
        (lambda: sandbox.inject_drop(count=None), "does not answer HTTP"),
    ]:
        sandbox.clear_faults()
        break_it()
        with pytest.raises(MyRunStreakError, match=phrase) as info:
            check_api_reachable(sandbox.api_base)
        assert "SMASHRUN_API_BASE" in f"{info.value} {info.value.hint}"
    sandbox.clear_faults()
    sandbox.inject(status=503, count=1)  # one hiccup is retried, not reported
    check_api_reachable(sandbox.api_base)
    with pytest.raises(MyRunStreakError, match="has no /my/userinfo"):
        check_api_reachable(sandbox.base_url)  # /v1 left out
    assert "test-token" not in repr(sandbox.requests)  # the probe sends no token


def test_the_database_check_writes_nothing_and_lets_a_busy_database_pass(tmp_path):
    import duckdb

    from myrunstreak_pipeline.cli.preflight import check_local_database

    path = tmp_path / "runs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    before = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.iterdir())
    check_local_database(str(path))
    assert sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.iterdir()) == before
    holder = subprocess.Popen(  # another process writes the database: usable, the run waits for its turn
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        check_local_database(str(path))
    finally:
        holder.communicate("", timeout=30)
