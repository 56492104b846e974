"""WSGI entry point for uwsgi (``module = herd_api.wsgi:application``).

Builds the app from the environment at import. A configuration error is printed as one clear line
naming every bad variable and re-raised, so uwsgi (``need-app``) refuses to start.
"""

from __future__ import annotations

import sys

from .app import create_app
from .config import ConfigError
from .metrics import MetricsPort

try:
    app = create_app()
except ConfigError as exc:
    print(f"herd-api: {exc}", file=sys.stderr, flush=True)
    raise
# The metrics on their own port (uwsgi listens on both): see herd_api/metrics.py.
application = MetricsPort(app, app.extensions["herd"], app.extensions["herd"].settings.metrics_port)
