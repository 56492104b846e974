"""Application factory and JSON error handling."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import psycopg
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import auth
from .config import Settings, configure_logging, load_settings
from .guard import find_bad_bytes, shown
from .metrics import observe
from .routes import bp
from .services import Services
from .validation import ValidationError

log = logging.getLogger("herd_api")
access_log = logging.getLogger("herd_api.access")

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/api/healthz", "/api/readyz"})


def create_app(settings: Settings | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """Builds the app from ``settings``, or from ``env`` (default: the process environment).

    Raises :class:`herd_api.config.ConfigError` naming every missing or invalid variable.
    """
    if settings is None:
        settings = load_settings(env)
    configure_logging(settings.log_level)

    app = Flask("herd_api")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep id, name, description, created_at
    app.extensions["herd"] = Services.build(settings)
    app.register_blueprint(bp)
    auth.init_app(app, settings.auth)
    _register_error_handlers(app)
    _register_request_hooks(app)
    log.info(
        "herd api ready (postgres %s:%s/%s, redis %s:%s, elasticsearch %s)",
        settings.database.host,
        settings.database.port,
        settings.database.name,
        settings.redis.host,
        settings.redis.port,
        settings.elasticsearch.url if settings.elasticsearch else "disabled",
    )
    return app


def _error(status: int, message: str, **extra: object) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> Response:
        response = jsonify(exc.to_json())
        response.status_code = exc.status
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {
            404: "not found",
            405: "method not allowed",
            413: f"request body too large (limit {app.config['MAX_CONTENT_LENGTH']} bytes)",
        }
        response = _error(status, messages.get(status, (exc.name or "error").lower()))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(psycopg.OperationalError)
    def database_unavailable(exc: psycopg.OperationalError) -> Response:
        log.error("database unavailable: %s", " ".join(str(exc).split()))
        response = _error(503, "database unavailable")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal server error")


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.before_request
    def refuse_bad_bytes() -> None:
        """Bytes that are not UTF-8 text (path, query, headers, cookies): a 400 naming the part, before any route
        reads them (see guard.py). One log line, no traceback."""
        problem = find_bad_bytes(request.environ)
        if problem is not None:
            path = request.environ.get("PATH_INFO") or "/"
            log.warning("refused %s %s: %s", shown(request.method, 20), shown(path, 300), problem.message)
            raise ValidationError(problem.message, field=problem.field)

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        elapsed_ms = elapsed * 1000
        rule = request.url_rule
        observe(request.method, rule.rule if rule is not None else None, response.status_code, elapsed)
        level = logging.DEBUG if request.path in PROBE_PATHS and response.status_code < 500 else logging.INFO
        # The client's bytes made printable (guard.shown): a newline in a path must not forge a second log line.
        method, path = shown(request.method, 20), shown(request.environ.get("PATH_INFO") or "/", 300)
        access_log.log(level, "%s %s %s %.1fms", method, path, response.status_code, elapsed_ms)
        return response
