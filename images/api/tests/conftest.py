"""Session-scoped real services (PostgreSQL, Redis) and per-test app factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from herd_api import create_app, db
from herd_api.config import load_database_settings
from herd_api.migrate import migrate
from servers import (
    PostgresServer,
    RedisServer,
    auth_env,
    postgres_missing,
    redis_missing,
    require,
    sign_in,
    start_postgres,
    start_redis,
)

API_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    require(postgres_missing())
    server = start_postgres()
    try:
        with db.connect(load_database_settings(server.env())) as conn:
            migrate(conn)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    require(redis_missing())
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clean_state(postgres: PostgresServer, redis_server: RedisServer) -> None:
    """Every test starts with no items and an empty cache."""
    with postgres.superuser(postgres.database) as conn:
        conn.execute("TRUNCATE items RESTART IDENTITY")
    redis_server.client().flushdb()


@pytest.fixture
def base_env(postgres: PostgresServer, redis_server: RedisServer, clean_state: None) -> dict[str, str]:
    return {**postgres.env(), **redis_server.env(), **auth_env(), "REDIS_RETRY_AFTER_SECONDS": "0"}


@pytest.fixture
def make_app(base_env: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Builds an app from base_env plus overrides (a value of None removes the variable)."""
    apps: list[Flask] = []

    def build(**overrides: str | None) -> Flask:
        env = dict(base_env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        app = create_app(env=env)
        app.testing = False  # exercise the real error handlers, as in production
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["herd"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def authed(app: Flask) -> FlaskClient:
    """A client signed in as the admin (session cookie + X-Herd-Request on every request)."""
    return sign_in(app.test_client())
