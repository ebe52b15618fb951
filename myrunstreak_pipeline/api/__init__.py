"""The read-only query API over the database (local or S3): FastAPI app, Lambda handler, streak page."""

from __future__ import annotations
