#!/usr/bin/env bash
# Local Kubernetes control plane for herd's e2e layer, on 127.0.0.1 only:
#   etcd, kube-apiserver (Node+RBAC, default admission incl. PodSecurity), kube-controller-manager
#   (--controllers=*), kube-scheduler, and kwok driving fake nodes (pods become Running/Ready, Job pods
#   Succeed, LoadBalancer Services and Ingresses get status.loadBalancer.ingress 127.0.0.1).
#
# usage: e2e/cluster.sh start            build (cached) + start; prints `export KUBECONFIG=...` on stdout
#        e2e/cluster.sh env              print `export KUBECONFIG=...` for the running cluster
#        e2e/cluster.sh status           health of each process
#        e2e/cluster.sh pv <storageClass> <count> <size>
#                                        pre-create static local PVs of that class (for WaitForFirstConsumer
#                                        classes whose provisioner does not exist here)
#        e2e/cluster.sh no-psa-apiserver|old-apiserver start|stop
#                                        another API server on the same etcd: Pod Security admission off (API port
#                                        + 2), or a Kubernetes 1.30 one (API port + 8); start prints its kubeconfig
#        e2e/cluster.sh stop [--keep]    kill everything started (pid files); remove the state dir unless --keep
#
# env: HERD_E2E_DIR        state dir (certs, kubeconfig, data, logs, pids); default: a new mktemp dir
#      HERD_E2E_CACHE      build cache (default $HOME/.cache/herd-e2e); also holds the pointer to the state dir
#      HERD_E2E_PORT_BASE  ports used are BASE+43 (apiserver), +79/+80 (etcd client/peer), +57 (controller-
#                          manager), +59 (scheduler), +47 (kwok); default 16400 -> apiserver on 16443
#      HERD_E2E_NODES      number of fake nodes (default 3; each 8 CPU, 32Gi, 110 pods)
#      HERD_E2E_POD_DELAY_MS  how long a pod takes to become ready, and a Job's pod to complete (default 0: at
#                          once); npm run bench:e2e -- --base sets it so that waiting chains cost what they would
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="${HERD_E2E_CACHE:-$HOME/.cache/herd-e2e}"
POINTER="$CACHE/current-cluster-dir"
BASE="${HERD_E2E_PORT_BASE:-16400}"
NODES="${HERD_E2E_NODES:-3}"
API_PORT=$((BASE + 43)); ETCD_PORT=$((BASE + 79)); ETCD_PEER_PORT=$((BASE + 80))
KCM_PORT=$((BASE + 57)); SCHED_PORT=$((BASE + 59)); KWOK_PORT=$((BASE + 47))
SERVICE_CIDR=10.96.0.0/16
SERVICE_API_IP=10.96.0.1 # first IP of SERVICE_CIDR: the `kubernetes` Service (data only, nothing routes it)
POD_CIDR=10.244.0.1/16   # kwok hands out fake pod IPs from here (data only, nothing routes them)

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

state_dir() { # the running cluster's dir: $HERD_E2E_DIR, else the pointer written by start
  if [ -n "${HERD_E2E_DIR:-}" ]; then echo "$HERD_E2E_DIR"; return; fi
  [ -f "$POINTER" ] && cat "$POINTER"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { # <pidfile>
  local p; p=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

tail_log() { # <name>
  local f="$D/logs/$1.log"
  if [ -f "$f" ]; then echo "---- last 30 lines of $f ----" >&2; tail -n 30 "$f" >&2; echo "----" >&2; fi
}

# spawn <name> <binary> args...: detached, logs to logs/<name>.log, pid in pids/<name>.pid
spawn() {
  local name=$1; shift
  log "starting $name"
  setsid "$@" >"$D/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$D/pids/$name.pid"
}

fail_start() { # <name> <message>: tail the log, stop what was started (keep the dir for the logs)
  echo "cluster: error: $2" >&2
  tail_log "$1"
  stop_all keep >/dev/null 2>&1 || true
  echo "cluster: state and logs kept in $D" >&2
  exit 1
}

# wait_for <name> <seconds> <command...>: poll until the command succeeds while the process lives
wait_for() {
  local name=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$D/pids/$name.pid" || fail_start "$name" "$name exited during startup"
    [ $SECONDS -lt $end ] || fail_start "$name" "$name not healthy after ${secs}s"
    sleep 0.5
  done
}

# ---- certificates ----------------------------------------------------------------------------------
gen_cert() { # <name> <CN> <O or ""> <server|client> [subjectAltName]
  local n=$1 cn=$2 o=$3 kind=$4 san=${5:-} subj eku
  subj="/CN=$cn"; [ -n "$o" ] && subj="/O=$o$subj"
  eku=clientAuth; [ "$kind" = server ] && eku=serverAuth
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$D/pki/$n.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$D/pki/$n.key" -out "$D/pki/$n.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$D/pki/$n.csr" -CA "$D/pki/ca.crt" -CAkey "$D/pki/ca.key" -CAcreateserial \
    -out "$D/pki/$n.crt" -days 365 -extfile "$D/pki/$n.ext" 2>/dev/null
  rm -f "$D/pki/$n.csr" "$D/pki/$n.ext"
}

gen_pki() {
  mkdir -p "$D/pki"; chmod 700 "$D/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/pki/ca.key" -out "$D/pki/ca.crt" -days 3650 \
    -subj "/CN=herd-e2e-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  gen_cert apiserver kube-apiserver "" server \
    "IP:127.0.0.1,IP:$SERVICE_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  gen_cert admin kubernetes-admin system:masters client
  gen_cert controller-manager system:kube-controller-manager "" client
  gen_cert scheduler system:kube-scheduler "" client
  gen_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters client
  openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null
}

write_kubeconfig() { # <file> <cert name> <user>
  local b64='base64 -w0'
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: herd-e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b64 <"$D/pki/ca.crt")
users:
- name: $3
  user:
    client-certificate-data: $($b64 <"$D/pki/$2.crt")
    client-key-data: $($b64 <"$D/pki/$2.key")
contexts:
- name: herd-e2e
  context:
    cluster: herd-e2e
    user: $3
current-context: herd-e2e
EOF
  chmod 600 "$1"
}

kc() { "$BIN/kubectl" --kubeconfig "$D/kubeconfig" "$@"; }
https_ok() { curl -sf --max-time 3 --cacert "$D/pki/ca.crt" "$@"; }

fake_nodes_yaml() {
  local i zones=(a b c)
  for ((i = 0; i < NODES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    topology.kubernetes.io/region: herd-e2e
    topology.kubernetes.io/zone: herd-e2e-${zones[$((i % 3))]}
status:
  addresses:
  - type: InternalIP
    address: 127.0.0.1
  - type: Hostname
    address: kwok-node-$i
  allocatable: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
EOF
  done
}

apiserver_flags() { # <secure port>: the API server's flags (no value has a space: word splitting is safe)
  echo --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$1" \
    --tls-cert-file "$D/pki/apiserver.crt" --tls-private-key-file "$D/pki/apiserver.key" \
    --client-ca-file "$D/pki/ca.crt" \
    --kubelet-client-certificate "$D/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$D/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$D/pki/sa.pub" --service-account-signing-key-file "$D/pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false \
    --endpoint-reconciler-type none
}

# Another API server beside the cluster's own, on the same etcd, for `npm run e2e` to show preflight failing on a
# cluster it must refuse; prints its kubeconfig's path on start:
#   no-psa  the same kube-apiserver with Pod Security admission turned off (API port + 2)
#   old     a real kube-apiserver of a minor herd does not support, built from e2e/cluster/kubernetes-old (API port + 8)
cmd_extra_apiserver() { # <no-psa|old> start|stop
  need_running
  local kind=$1 name port bin extra=()
  case "$kind" in
    no-psa) name=kube-apiserver-no-psa; port=$((API_PORT + 2)); bin="$BIN/kube-apiserver"; extra=(--disable-admission-plugins PodSecurity) ;;
    old) name=kube-apiserver-old; port=$((API_PORT + 8)); bin=${OLD_APISERVER:-} ;;
  esac
  [ -n "$bin" ] && [ -x "$bin" ] || die "$name: no binary (start the cluster again with this e2e/cluster.sh: it builds one)"
  case "${2:-}" in
    start)
      port_in_use "$port" && die "port $port on 127.0.0.1 ($name) is in use; set HERD_E2E_PORT_BASE to another base"
      # shellcheck disable=SC2046
      spawn "$name" "$bin" $(apiserver_flags "$port") "${extra[@]}"
      wait_for "$name" 180 https_ok --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" "https://127.0.0.1:$port/readyz"
      (API_PORT=$port; write_kubeconfig "$D/$kind.kubeconfig" admin kubernetes-admin)
      echo "$D/$kind.kubeconfig" ;;
    stop) stop_one "$name"; rm -f "$D/$kind.kubeconfig" ;;
    *) die "usage: cluster.sh $kind-apiserver start|stop" ;;
  esac
}

cmd_start() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found: apt-get install -y openssl"
  command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install -y curl"
  command -v setsid >/dev/null 2>&1 || die "setsid not found: apt-get install -y util-linux"
  local old; old=$(state_dir || true)
  if [ -n "$old" ] && [ -d "$old/pids" ] && compgen -G "$old/pids/*.pid" >/dev/null; then
    local f; for f in "$old"/pids/*.pid; do
      pid_alive "$f" && die "a cluster is already running from $old (e2e/cluster.sh stop first)"
    done
  fi
  local p name
  for p in "$API_PORT:kube-apiserver" "$ETCD_PORT:etcd" "$ETCD_PEER_PORT:etcd-peer" "$KCM_PORT:kube-controller-manager" \
    "$SCHED_PORT:kube-scheduler" "$KWOK_PORT:kwok"; do
    name=${p#*:}; p=${p%%:*}
    if port_in_use "$p"; then die "port $p on 127.0.0.1 ($name) is in use; set HERD_E2E_PORT_BASE to another base"; fi
  done

  local vars; vars=$("$HERE/build-cluster.sh") || die "build failed (see above)"
  eval "$vars"
  BIN=$CLUSTER_BIN_DIR

  if [ -n "${HERD_E2E_DIR:-}" ]; then D=$HERD_E2E_DIR; mkdir -p "$D"; else D=$(mktemp -d -t herd-e2e.XXXXXX); fi
  D=$(cd "$D" && pwd)
  mkdir -p "$D/logs" "$D/pids" "$D/etcd" "$D/kwok" "$D/pv" "$(dirname "$POINTER")"
  chmod 700 "$D/etcd"
  rm -f "$D"/pids/*.pid
  echo "$D" >"$D/.herd-e2e-state"
  log "state dir $D"
  gen_pki
  write_kubeconfig "$D/kubeconfig" admin kubernetes-admin
  write_kubeconfig "$D/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  write_kubeconfig "$D/scheduler.kubeconfig" scheduler system:kube-scheduler
  cat >"$D/ports.env" <<EOF
API_PORT=$API_PORT
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
BIN=$BIN
OLD_APISERVER=$CLUSTER_OLD_APISERVER
EOF

  spawn etcd "$BIN/etcd" --name herd-e2e --data-dir "$D/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "herd-e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 2147483648 --unsafe-no-fsync --log-level warn
  wait_for etcd 60 curl -sf --max-time 3 "http://127.0.0.1:$ETCD_PORT/health"

  # shellcheck disable=SC2046
  spawn kube-apiserver "$BIN/kube-apiserver" $(apiserver_flags "$API_PORT")
  wait_for kube-apiserver 180 https_ok --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" "https://127.0.0.1:$API_PORT/readyz"

  spawn kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$D/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$D/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$D/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --controllers '*' --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$D/pki/sa.key" --root-ca-file "$D/pki/ca.crt" \
    --cluster-signing-cert-file "$D/pki/ca.crt" --cluster-signing-key-file "$D/pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
  spawn kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$D/scheduler.kubeconfig" \
    --authentication-kubeconfig "$D/scheduler.kubeconfig" \
    --authorization-kubeconfig "$D/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false
  local stages=() f delay="${HERD_E2E_POD_DELAY_MS:-0}"
  [[ "$delay" =~ ^[0-9]+$ ]] || die "HERD_E2E_POD_DELAY_MS must be a whole number of milliseconds, got '$delay'"
  for f in "$CLUSTER_KWOK_STAGES_DIR"/*/*/*.yaml "$HERE"/cluster/stages/*.yaml; do
    case "$delay:$(basename "$f")" in
      0:*) ;;
      *:pod-ready.yaml | *:pod-complete.yaml) # kwok's Stage delay: the transition happens this long after it could
        mkdir -p "$D/stages"
        sed "0,/^spec:$/s//spec:\n  delay:\n    durationMilliseconds: $delay/" "$f" >"$D/stages/$(basename "$f")"
        f="$D/stages/$(basename "$f")" ;;
    esac
    stages+=(--config "$f")
  done
  KWOK_WORKDIR="$D/kwok" spawn kwok "$BIN/kwok" "${stages[@]}" \
    --kubeconfig "$D/kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --server-address "127.0.0.1:$KWOK_PORT" \
    --cidr "$POD_CIDR" --node-lease-duration-seconds 40
  wait_for kube-controller-manager 90 curl -skf --max-time 3 "https://127.0.0.1:$KCM_PORT/healthz"
  wait_for kube-scheduler 90 curl -skf --max-time 3 "https://127.0.0.1:$SCHED_PORT/healthz"
  wait_for kwok 60 curl -sf --max-time 3 "http://127.0.0.1:$KWOK_PORT/healthz"

  log "creating $NODES fake nodes"
  fake_nodes_yaml | kc apply -f - >/dev/null || fail_start kube-apiserver "creating fake nodes failed"
  kc wait --for=condition=Ready node -l type=kwok --timeout=90s >/dev/null 2>&1 \
    || fail_start kwok "fake nodes did not become Ready within 90s"
  # the service-account controller (controller-manager) creates `default` in every namespace
  wait_for kube-controller-manager 90 kc get serviceaccount default -n default
  echo "$D" >"$POINTER" # lets `env`, `status`, `pv` and `stop` find this cluster without HERD_E2E_DIR
  log "cluster ready: $(kc get nodes --no-headers 2>/dev/null | wc -l) nodes, apiserver https://127.0.0.1:$API_PORT"
  echo "export KUBECONFIG=$D/kubeconfig"
}

stop_one() { # <name>: stops what spawn started under that name, if it runs
  local f="$D/pids/$1.pid" p i
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    log "stopping $1 (pid $p)"
    kill "$p" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop_all() { # [keep]
  local name
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver-no-psa kube-apiserver-old kube-apiserver etcd; do
    stop_one "$name"
  done
  if [ "${1:-}" != keep ]; then
    [ -f "$D/.herd-e2e-state" ] && rm -rf "$D"
    [ -f "$POINTER" ] && [ "$(cat "$POINTER")" = "$D" ] && rm -f "$POINTER"
    log "removed $D"
  else
    log "kept $D"
  fi
}

cmd_stop() {
  D=$(state_dir || true)
  [ -n "$D" ] && [ -d "$D" ] || { log "no cluster state found (nothing to stop)"; return 0; }
  if [ "${1:-}" = --keep ]; then stop_all keep; else stop_all; fi
}

need_running() {
  D=$(state_dir || true)
  [ -n "$D" ] && [ -f "$D/kubeconfig" ] || die "no cluster running (e2e/cluster.sh start)"
  # shellcheck disable=SC1091
  . "$D/ports.env"
}

cmd_env() { need_running; echo "export KUBECONFIG=$D/kubeconfig"; }

cmd_status() {
  need_running
  local name rc=0
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if pid_alive "$D/pids/$name.pid"; then echo "$name: running (pid $(cat "$D/pids/$name.pid"))"
    else echo "$name: NOT running (log: $D/logs/$name.log)"; rc=1; fi
  done
  return $rc
}

cmd_pv() { # <storageClass> <count> <size>
  [ $# -eq 3 ] || die "usage: cluster.sh pv <storageClass> <count> <size e.g. 10Gi>"
  need_running
  local sc=$1 n=$2 size=$3 i name
  [[ $n =~ ^[0-9]+$ ]] || die "count must be a number: $n"
  for ((i = 0; i < n; i++)); do
    name="$sc-pv-$i"
    mkdir -p "$D/pv/$name"
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: {herd-e2e/static-pv: "$sc"}
spec:
  storageClassName: $sc
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
  local:
    path: $D/pv/$name
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: type, operator: In, values: [kwok]}
EOF
  done | "$BIN/kubectl" --kubeconfig "$D/kubeconfig" apply -f - >&2
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  pv) shift; cmd_pv "$@" ;;
  no-psa-apiserver) shift; cmd_extra_apiserver no-psa "$@" ;;
  old-apiserver) shift; cmd_extra_apiserver old "$@" ;;
  *) echo "usage: $0 start|stop [--keep]|env|status|pv <storageClass> <count> <size>|no-psa-apiserver|old-apiserver start|stop" >&2; exit 2 ;;
esac
