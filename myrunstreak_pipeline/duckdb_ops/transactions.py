"""One explicit transaction on a DuckDB connection: BEGIN, then COMMIT, or ROLLBACK on any error.

Nestable: inside a transaction opened by this helper (e.g. ``DuckDBManager.transaction()``), a block joins it and
the outer block commits or rolls back, so ``with manager.transaction(): repo.upsert_activities(...);
repo.set_sync_state(...)`` is atomic. (A second BEGIN would abort DuckDB's open transaction, hence the bookkeeping.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

_open: set[int] = set()  # id() of connections with a transaction opened here (single writer thread)


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    key = id(connection)
    if key in _open:  # join the caller's transaction
        yield connection
        return
    connection.execute("BEGIN TRANSACTION")
    _open.add(key)
    try:
        yield connection
    except BaseException:
        try:
            connection.execute("ROLLBACK")
        except duckdb.Error:  # the connection is already unusable; keep the original error
            pass
        raise
    else:
        connection.execute("COMMIT")
    finally:
        _open.discard(key)
