#!/bin/sh
# Runs from the nginx image's /docker-entrypoint.sh before 20-envsubst-on-templates.sh renders server.conf.template.
# Fails the container at once, with a plain message naming the variable, when the API upstream, the HSTS setting, a
# rate limit or a trusted proxy CIDR is malformed; then writes the include files the server block reads:
#   hsts.conf               (server)   the Strict-Transport-Security line (HSTS_MAX_AGE_SECONDS; unset or 0: none)
#   rate-limit-zones.conf   (http)     the per-client zones for /api/ and /api/auth/login, and the seconds a refused
#                                      client is told to wait (API_RATE_LIMIT_PER_SECOND, LOGIN_RATE_LIMIT_PER_MINUTE)
#   rate-limit-api.conf     (location) limit_req for /api/ (API_RATE_LIMIT_BURST)
#   rate-limit-login.conf   (location) limit_req for /api/auth/login
#   real-ip.conf            (server)   whose X-Forwarded-For names the client (TRUSTED_PROXY_CIDRS; empty: nobody's)
# Nothing is written until every variable has passed.
set -eu

# Where the server block and its includes are rendered (nginx.conf and the template name these paths).
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

# A whole number from MIN to MAX, or DEFAULT when the variable is unset or empty; prints it.
# usage: whole_number NAME DEFAULT MIN MAX WHAT
whole_number() {
    eval "value=\${$1:-}"
    if [ -z "$value" ]; then
        value=$2
    fi
    if ! printf '%s' "$value" | grep -Eq '^(0|[1-9][0-9]{0,8})$' || [ "$value" -lt "$3" ] || [ "$value" -gt "$4" ]; then
        echo "$0: ERROR: $1='$value' is not a whole number from $3 to $4 ($5; unset: $2)" >&2
        return 1
    fi
    printf '%s' "$value"
}
api_rate=$(whole_number API_RATE_LIMIT_PER_SECOND 20 1 10000 "requests per second to /api/ from one client") || exit 1
api_burst=$(whole_number API_RATE_LIMIT_BURST 40 0 100000 "requests to /api/ one client may make at once beyond the rate") || exit 1
login_rate=$(whole_number LOGIN_RATE_LIMIT_PER_MINUTE 10 1 1000 "sign-in attempts per minute from one client") || exit 1

# TRUSTED_PROXY_CIDRS: the load balancers / ingress controllers in front of this pod, as CIDR blocks separated by
# spaces. Only from those addresses is X-Forwarded-For believed (else any client could choose its own bucket).
ipv4_cidr_problem() {
    printf '%s' "$1" | grep -Eq '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/[0-9]{1,2}$' || { echo "not an IPv4 or IPv6 CIDR block"; return 0; }
    prefix=${1#*/}
    [ "$prefix" -le 32 ] || { echo "its prefix length is over 32"; return 0; }
    n=0
    old_ifs=$IFS
    IFS=.
    for octet in ${1%/*}; do
        case $octet in 0?*) IFS=$old_ifs; echo "an octet has a leading zero"; return 0 ;; esac
        [ "$octet" -le 255 ] || { IFS=$old_ifs; echo "an octet is over 255"; return 0; }
        n=$((n * 256 + octet))
    done
    IFS=$old_ifs
    [ $((n % (1 << (32 - prefix)))) -eq 0 ] || echo "its host bits are not all zero"
}
ipv6_cidr_problem() {
    printf '%s' "$1" | grep -Eiq '^[0-9a-f:]+/[0-9]{1,3}$' || { echo "not an IPv4 or IPv6 CIDR block"; return 0; }
    prefix=${1#*/}
    [ "$prefix" -le 128 ] || { echo "its prefix length is over 128"; return 0; }
    # Eight groups of 1-4 hex digits, or fewer with one "::" standing for the rest.
    printf '%s' "${1%/*}" | grep -Eiq '^(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?)$' \
        || { echo "not an IPv6 address before the prefix"; return 0; }
    case ${1%/*} in
        *::*::*) echo "it has more than one ::" ;;
        *::*) [ "$(printf '%s' "${1%/*}" | tr ':' '\n' | grep -c .)" -le 7 ] || echo "it has too many groups to use ::" ;;
    esac
}
real_ip=""
proxies=""
# Unquoted on purpose: split on spaces; set -f so a * in the value is not a file name pattern.
set -f
for cidr in ${TRUSTED_PROXY_CIDRS:-}; do
    case $cidr in
        *:*) problem=$(ipv6_cidr_problem "$cidr") ;;
        *) problem=$(ipv4_cidr_problem "$cidr") ;;
    esac
    if [ -n "$problem" ]; then
        echo "$0: ERROR: TRUSTED_PROXY_CIDRS has '$cidr': $problem (expected CIDR blocks separated by spaces, e.g. '10.0.0.0/8 fd00::/8'; empty: trust no proxy)" >&2
        exit 1
    fi
    real_ip="${real_ip}set_real_ip_from $cidr;
"
    proxies="$proxies $cidr"
done
set +f

mkdir -p "$HERD_CONF_DIR"
if [ "$hsts" -gt 0 ]; then
    printf 'add_header Strict-Transport-Security "max-age=%s" always;\n' "$hsts" >"$HERD_CONF_DIR/hsts.conf"
    hsts_said="Strict-Transport-Security max-age=$hsts"
else
    : >"$HERD_CONF_DIR/hsts.conf"
    hsts_said="no Strict-Transport-Security header"
fi

# A refused client's bucket has room again after one request's worth of time: 1/rate, rounded up to whole seconds.
api_retry=$(( (1 + api_rate - 1) / api_rate ))
login_retry=$(( (60 + login_rate - 1) / login_rate ))
cat >"$HERD_CONF_DIR/rate-limit-zones.conf" <<ZONES
# Written by 05-herd-check-env.sh (API_RATE_LIMIT_PER_SECOND=$api_rate, LOGIN_RATE_LIMIT_PER_MINUTE=$login_rate).
# One bucket per client address: \$binary_remote_addr is the proxy's client when real-ip.conf trusts the proxy.
limit_req_zone \$binary_remote_addr zone=herd_api:10m rate=${api_rate}r/s;
limit_req_zone \$binary_remote_addr zone=herd_login:2m rate=${login_rate}r/m;
# Seconds until a refused client's bucket has room again: the 429's Retry-After and body.
map \$uri \$herd_retry_after_seconds {
    /api/auth/login $login_retry;
    default $api_retry;
}
ZONES
# nginx refuses burst=0: no burst is written as no burst parameter (and then nodelay means nothing).
limit_req_line() {
    if [ "$2" -gt 0 ]; then
        printf 'limit_req zone=%s burst=%s nodelay;\n' "$1" "$2"
    else
        printf 'limit_req zone=%s;\n' "$1"
    fi
}
{
    echo "# API_RATE_LIMIT_BURST=$api_burst: that many requests at once beyond the rate, then 429 (nodelay: none is held back)."
    limit_req_line herd_api "$api_burst"
} >"$HERD_CONF_DIR/rate-limit-api.conf"
{
    echo "# LOGIN_RATE_LIMIT_PER_MINUTE=$login_rate: $login_rate attempts in a row, then one every $login_retry s."
    limit_req_line herd_login "$((login_rate - 1))"
} >"$HERD_CONF_DIR/rate-limit-login.conf"
if [ -n "$real_ip" ]; then
    printf '# TRUSTED_PROXY_CIDRS: the client is the last X-Forwarded-For address not inside these.\n%sreal_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n' \
        "$real_ip" >"$HERD_CONF_DIR/real-ip.conf"
    proxies_said="X-Forwarded-For trusted from$proxies"
else
    : >"$HERD_CONF_DIR/real-ip.conf"
    proxies_said="no trusted proxy (the TCP peer is the client)"
fi
echo "$0: API upstream is $API_UPSTREAM; $hsts_said; /api/ ${api_rate}/s burst $api_burst and sign-in ${login_rate}/min per client; $proxies_said"
