#!/bin/sh
# Runs from the nginx image's /docker-entrypoint.sh before 20-envsubst-on-templates.sh renders server.conf.template.
# Fails the container at once, with a plain message, when the API upstream is missing or malformed.
set -eu

if [ -z "${API_UPSTREAM:-}" ]; then
    echo "$0: ERROR: API_UPSTREAM is not set; set it to the API Service as host:port (e.g. api.herd.svc.cluster.local:8000)" >&2
    exit 1
fi
if ! printf '%s' "$API_UPSTREAM" | grep -Eq '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$'; then
    echo "$0: ERROR: API_UPSTREAM='$API_UPSTREAM' is not host:port (e.g. api.herd.svc.cluster.local:8000)" >&2
    exit 1
fi
if [ "${NGINX_ENVSUBST_OUTPUT_DIR:-}" != "/tmp" ]; then
    echo "$0: ERROR: NGINX_ENVSUBST_OUTPUT_DIR must be /tmp (nginx.conf includes /tmp/herd/server.conf)" >&2
    exit 1
fi
echo "$0: API upstream is $API_UPSTREAM"
