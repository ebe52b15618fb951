"""Thin Dagster shells over the rooms (smashrun, duckdb_ops, analytics).

Every module exposes builder functions rather than module-level definitions: the partitions (history start,
time zone) and the schedule time come from the environment, so ``definitions.build_defs(settings)`` builds
a fresh graph for whatever settings it is given (tests, ``myrunstreak demo``) instead of freezing the values
seen at first import.
"""
