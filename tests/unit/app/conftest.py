"""Fixtures for the app tests: app factory, and a throwaway PostgreSQL server.

PostgreSQL: TEST_DATABASE_URL if set, else the Debian binaries (/usr/lib/postgresql/*/bin) start a
private server on a free 127.0.0.1 port for the session (run as the postgres user when we are root).
Missing binaries are a failure, never a skip: the run and wallet tests must cover both databases.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import AppSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin_dir() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    pytest.fail(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin and TEST_DATABASE_URL "
        "is not set: install Debian's postgresql package (make system-deps) or point "
        "TEST_DATABASE_URL at a server. The run and wallet tests must run on PostgreSQL too."
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Base URL (database "postgres") of a PostgreSQL server for this test session."""
    env = os.environ.get("TEST_DATABASE_URL")
    if env:
        yield env
        return
    bindir = _pg_bin_dir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = Path(tempfile.mkdtemp(prefix="app-tests-pg-"))
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    data = tmp / "data"
    port = free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c max_connections=200"
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-w", "-t", "60", "-l", str(tmp / "log"), "-o", opts, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-w", "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _fresh_pg_database(base_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    conninfo = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    base = request.getfixturevalue("postgres_url")
    return _fresh_pg_database(base)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(sqlite_url: str) -> Iterator[AppFactory]:
    """Build apps (tracing exporter off unless overridden); each is shut down at teardown."""
    apps: list[FastAPI] = []

    def factory(**overrides: Any) -> FastAPI:
        values: dict[str, Any] = {"database_url": sqlite_url, "otel_traces_exporter": "none"}
        values.update(overrides)
        app = create_app(AppSettings(**values))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.state.shutdown()


@pytest.fixture
def client(make_app: AppFactory) -> TestClient:
    return TestClient(make_app())


@pytest.fixture
def db_client(make_app: AppFactory, db_url: str) -> TestClient:
    """A client of an app on each database kind (SQLite and PostgreSQL)."""
    return TestClient(make_app(database_url=db_url))
