"""Baseline for bench/microsite.sh: the usual stack, minimal, answering the same query.

Flask + a psycopg 3 connection pool, run by gunicorn with 1 worker and 4 threads:
`gunicorn -w 1 --threads 4 microsite_baseline:app`. Settings come from the same
environment variables as the microsite (HOST, DB_PORT, DB_NAME, USER, PASSWORD).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from psycopg import conninfo
from psycopg_pool import ConnectionPool

SQL = Path(os.environ["BENCH_SQL_FILE"]).read_text()
pool = ConnectionPool(
    conninfo.make_conninfo(
        host=os.environ["HOST"],
        port=os.environ.get("DB_PORT", "5432"),
        dbname=os.environ.get("DB_NAME", "postgres"),
        user=os.environ["USER"],
        password=os.environ["PASSWORD"],
    ),
    min_size=4,
    max_size=4,
    open=True,
)
app = Flask(__name__)


@app.get("/")
def root() -> Any:
    with pool.connection() as conn:
        rows = conn.execute(SQL, prepare=True).fetchall()
    return jsonify(
        service="microsite",
        environment=os.environ.get("ENVIRONMENT", ""),
        database={"time": rows[0][0].isoformat(), "version": rows[0][1]},
        items=[
            {"id": r[2], "name": r[3], "description": r[4], "created_at": r[5].isoformat()}
            for r in rows
            if r[2] is not None
        ],
    )


@app.get("/health")
def health() -> Any:
    return jsonify(status="ok")
