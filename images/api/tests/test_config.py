"""Configuration from the environment: defaults, validation, _FILE secrets, failing fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from herd_api.config import ConfigError, load_database_settings, load_settings

API_DIR = Path(__file__).resolve().parent.parent

MINIMAL = {
    "DATABASE_HOST": "db.example",
    "DATABASE_NAME": "herd",
    "DATABASE_USER": "herd",
    "DATABASE_PASSWORD": "pw",
    "REDIS_HOST": "redis.example",
    "HERD_ADMIN_PASSWORD": "admin-pw",
    "HERD_SESSION_SECRET": "s" * 32,
}


def test_minimal_environment_gets_documented_defaults() -> None:
    settings = load_settings(MINIMAL)
    assert settings.database.port == 5432
    assert settings.database.password == "pw"
    assert settings.redis.port == 6379
    assert settings.redis.password is None
    assert settings.elasticsearch is None
    assert settings.cache_ttl_seconds == 60
    assert settings.log_level == "INFO"
    assert settings.max_content_length == 65536


def test_full_environment() -> None:
    settings = load_settings(
        {
            **MINIMAL,
            "DATABASE_PORT": "6543",
            "REDIS_PORT": "6380",
            "REDIS_PASSWORD": "rpw",
            "ELASTICSEARCH_URL": "http://elastic.herd.svc.cluster.local:9200/",
            "ELASTICSEARCH_USERNAME": "elastic",
            "ELASTICSEARCH_PASSWORD": "epw",
            "CACHE_TTL_SECONDS": "5",
            "LOG_LEVEL": "debug",
            "MAX_CONTENT_LENGTH": "2048",
        }
    )
    assert settings.database.port == 6543
    assert settings.redis.port == 6380 and settings.redis.password == "rpw"
    assert settings.elasticsearch is not None
    assert settings.elasticsearch.url == "http://elastic.herd.svc.cluster.local:9200"
    assert (settings.elasticsearch.username, settings.elasticsearch.password) == ("elastic", "epw")
    assert settings.cache_ttl_seconds == 5
    assert settings.log_level == "DEBUG"
    assert settings.max_content_length == 2048


def test_secrets_are_not_in_repr() -> None:
    settings = load_settings({**MINIMAL, "REDIS_PASSWORD": "redis-secret", "DATABASE_PASSWORD": "db-secret"})
    assert "db-secret" not in repr(settings)
    assert "redis-secret" not in repr(settings)


def test_every_missing_required_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    message = str(caught.value)
    for name in (
        "DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD", "REDIS_HOST",
        "HERD_ADMIN_PASSWORD", "HERD_SESSION_SECRET",
    ):
        assert name in message
    assert len(caught.value.problems) == 7


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DATABASE_PORT", "abc", "DATABASE_PORT='abc' is not an integer"),
        ("DATABASE_PORT", "70000", "DATABASE_PORT=70000 is out of range"),
        ("REDIS_PORT", "0", "REDIS_PORT=0 is out of range"),
        ("CACHE_TTL_SECONDS", "-1", "CACHE_TTL_SECONDS=-1 is out of range"),
        ("CACHE_TTL_SECONDS", "1.5", "CACHE_TTL_SECONDS='1.5' is not an integer"),
        ("MAX_CONTENT_LENGTH", "lots", "MAX_CONTENT_LENGTH='lots' is not an integer"),
        ("MAX_CONTENT_LENGTH", "16777217", "MAX_CONTENT_LENGTH=16777217 is out of range 1024..16777216"),
        ("HERD_METRICS_PORT", "metrics", "HERD_METRICS_PORT='metrics' is not an integer"),
        ("HERD_METRICS_PORT", "70000", "HERD_METRICS_PORT=70000 is out of range 1..65535"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' must be one of"),
        ("ELASTICSEARCH_URL", "elastic:9200", "ELASTICSEARCH_URL='elastic:9200' must be an http:// or https:// URL"),
        ("ELASTICSEARCH_URL", "http://u:p@elastic:9200", "must not embed credentials"),
        ("DATABASE_SSLMODE", "sometimes", "DATABASE_SSLMODE='sometimes' must be one of"),
    ],
)
def test_invalid_values_are_named(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**MINIMAL, name: value})
    assert fragment in str(caught.value)


def test_elasticsearch_credentials_come_in_pairs() -> None:
    with pytest.raises(ConfigError, match="ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD"):
        load_settings({**MINIMAL, "ELASTICSEARCH_URL": "http://es:9200", "ELASTICSEARCH_USERNAME": "elastic"})


def test_file_wins_over_plain_variable_and_loses_one_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("from-file\n")
    (tmp_path / "redis").write_text("redis-from-file")
    (tmp_path / "es").write_text("es-from-file\r\n")
    settings = load_settings(
        {
            **MINIMAL,
            "DATABASE_PASSWORD": "from-env",
            "DATABASE_PASSWORD_FILE": str(tmp_path / "db"),
            "REDIS_PASSWORD_FILE": str(tmp_path / "redis"),
            "ELASTICSEARCH_URL": "http://es:9200",
            "ELASTICSEARCH_USERNAME": "elastic",
            "ELASTICSEARCH_PASSWORD": "es-from-env",
            "ELASTICSEARCH_PASSWORD_FILE": str(tmp_path / "es"),
        }
    )
    assert settings.database.password == "from-file"
    assert settings.redis.password == "redis-from-file"
    assert settings.elasticsearch is not None and settings.elasticsearch.password == "es-from-file"


def test_file_alone_satisfies_a_required_secret(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("only-file")
    env = {k: v for k, v in MINIMAL.items() if k != "DATABASE_PASSWORD"}
    env["DATABASE_PASSWORD_FILE"] = str(tmp_path / "db")
    assert load_database_settings(env).password == "only-file"


def test_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**MINIMAL, "DATABASE_PASSWORD_FILE": str(tmp_path / "missing")})
    assert f"DATABASE_PASSWORD_FILE={tmp_path / 'missing'} cannot be read" in str(caught.value)


def test_empty_required_secret_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("")
    env = {k: v for k, v in MINIMAL.items() if k != "DATABASE_PASSWORD"}
    with pytest.raises(ConfigError, match="DATABASE_PASSWORD_FILE=.* is empty"):
        load_settings({**env, "DATABASE_PASSWORD_FILE": str(tmp_path / "empty")})


def test_database_only_settings_do_not_need_redis() -> None:
    env = {k: v for k, v in MINIMAL.items() if not k.startswith("REDIS")}
    assert load_database_settings(env).host == "db.example"


def test_wsgi_entry_point_fails_fast_naming_the_missing_variables() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_HOST": "db", "DATABASE_NAME": "herd"}
    result = subprocess.run(
        [sys.executable, "-c", "import herd_api.wsgi"], cwd=API_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith("herd-api: invalid configuration:")
    assert "DATABASE_USER is required" in first_line
    assert "DATABASE_PASSWORD (or DATABASE_PASSWORD_FILE) is required" in first_line
    assert "REDIS_HOST is required" in first_line
    assert "DATABASE_HOST" not in first_line
