"""Child process for the SIGKILL test: a writer that is killed at a chosen step, never cleanly.

    python -m myrunstreak_pipeline_tests.s3_kill_worker <s3-uri> <workdir> <mid-load|before-publish> <runs>

Credentials and MYRUNSTREAK_S3_ENDPOINT_URL come from the environment. Progress lines on stdout tell the
parent when to kill: ``CHUNK <n>`` after each committed chunk, ``APPLIED`` when the load is complete.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from myrunstreak_pipeline.duckdb_ops.s3 import S3DatabasePublisher, make_s3_client, parse_s3_uri
from myrunstreak_pipeline_tests.fixtures.s3 import load_synthetic_runs

CHUNK = 500
MAX_WAIT_SECONDS = 60  # bounded: the parent kills us long before this


def main(uri: str, workdir: str, kill_point: str, runs: int) -> int:
    publisher = S3DatabasePublisher(make_s3_client(), parse_s3_uri(uri), run_id="killed-run", workdir=Path(workdir))
    working_copy = publisher.download()
    print(f"DOWNLOADED {working_copy.path}", flush=True)
    if kill_point == "mid-load":
        # A long load in committed chunks: the WAL and the file both hold part of the work when killed.
        for number, first in enumerate(range(0, runs, CHUNK), start=1):
            load_synthetic_runs(working_copy.path, first, min(CHUNK, runs - first))
            print(f"CHUNK {number}", flush=True)
            time.sleep(0.1)
    else:
        load_synthetic_runs(working_copy.path, 0, runs)
    print("APPLIED", flush=True)
    time.sleep(MAX_WAIT_SECONDS)  # "before-publish": the kill lands here, after COMMIT and before the put
    publisher.publish(working_copy)
    print("PUBLISHED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
