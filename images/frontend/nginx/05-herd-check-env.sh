#!/bin/sh
# Runs from the nginx image's /docker-entrypoint.sh before 20-envsubst-on-templates.sh renders server.conf.template.
# Fails the container at once, with a plain message, when the API upstream or the HSTS setting is malformed, and
# writes the Strict-Transport-Security line the server block includes (HSTS_MAX_AGE_SECONDS; unset or 0: none).
set -eu

# Where the server block and its HSTS include are rendered (nginx.conf and the template name these paths).
HERD_CONF_DIR=/tmp/herd

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
# Set by herd only when the site is served over HTTPS (TLS ends at the load balancer or ingress in front of this
# pod); browsers ignore the header over plain HTTP, and sending it there would only mislead.
hsts="${HSTS_MAX_AGE_SECONDS:-0}"
if ! printf '%s' "$hsts" | grep -Eq '^(0|[1-9][0-9]{0,8})$'; then
    echo "$0: ERROR: HSTS_MAX_AGE_SECONDS='$hsts' is not a whole number of seconds (0: no Strict-Transport-Security header)" >&2
    exit 1
fi
mkdir -p "$HERD_CONF_DIR"
if [ "$hsts" -gt 0 ]; then
    printf 'add_header Strict-Transport-Security "max-age=%s" always;\n' "$hsts" >"$HERD_CONF_DIR/hsts.conf"
    echo "$0: API upstream is $API_UPSTREAM; Strict-Transport-Security max-age=$hsts"
else
    : >"$HERD_CONF_DIR/hsts.conf"
    echo "$0: API upstream is $API_UPSTREAM; no Strict-Transport-Security header"
fi
