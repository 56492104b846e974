#!/usr/bin/env bash
# Proves, against a running e2e/cluster.sh cluster, what herd's `pulumi up` on the onprem stack needs:
# restricted namespace + Deployment Available with ready EndpointSlices, StatefulSet with a
# WaitForFirstConsumer/Retain claim Bound and re-attached after the StatefulSet is recreated, a Job
# Complete and a CronJob accepted, LoadBalancer Service and Ingress status, server-side dry-run.
# usage: e2e/cluster/smoke-test.sh      (SMOKE_KEEP=1 keeps the herd-smoke namespace and PVs)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER="$HERE/../cluster.sh"
eval "$("$CLUSTER" env)" || exit 1
BIN=$(sed -n 's/^BIN=//p' "$(dirname "$KUBECONFIG")/ports.env")
k() { "$BIN/kubectl" "$@"; }
NS=herd-smoke
pass=0; fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
# poll <seconds> <command...>
poll() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 1; done; }
jp() { k get "$@" 2>/dev/null; }

k version 2>&1 | sed 's/^/  /'

k apply -f "$HERE/smoke/00-namespace.yaml" >/dev/null
# 5. server-side dry-run of the whole directory (PodSecurity restricted is checked at this point too)
if out=$(k apply --dry-run=server -f "$HERE/smoke/" 2>&1); then
  ok "kubectl apply --dry-run=server -f smoke/ ($(echo "$out" | grep -c 'server dry run') objects)"
else ko "server dry-run: $out"; fi
if out=$(k -n $NS run not-restricted --image=busybox --restart=Never --dry-run=server 2>&1); then
  ko "a non-restricted pod was admitted in a restricted namespace: $out"
else
  echo "$out" | grep -q 'violates PodSecurity "restricted' && ok "PodSecurity restricted rejects a non-compliant pod" \
    || ko "non-compliant pod rejected for another reason: $out"
fi

"$CLUSTER" pv herd-smoke-retain 2 1Gi 2>/dev/null
k apply -f "$HERE/smoke/" >/dev/null || ko "kubectl apply -f smoke/"

# 1. Deployment Available on kwok nodes, Service EndpointSlices with ready endpoints
if k -n $NS wait deploy/web --for=condition=Available --timeout=120s >/dev/null; then
  ok "deployment/web Available: $(jp -n $NS pods -l app.kubernetes.io/name=web -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase}/ready={.status.conditions[?(@.type=="Ready")].status}@{.spec.nodeName} {end}')"
else ko "deployment/web not Available"; fi
ready_eps() { [ "$(jp -n $NS endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' | grep -c true)" -ge 2 ]; }
if poll 60 ready_eps; then
  ok "service/web EndpointSlice ready endpoints: $(jp -n $NS endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}(ready={.conditions.ready}) {end}')"
else ko "service/web EndpointSlices have no 2 ready endpoints"; fi

# 2. StatefulSet + WaitForFirstConsumer/Retain claim bound to a static PV
if k -n $NS rollout status sts/db --timeout=120s >/dev/null; then ok "statefulset/db ready ($(jp -n $NS sts db -o jsonpath='{.status.readyReplicas}/{.spec.replicas}'))"
else ko "statefulset/db not ready"; fi
pvc_bound() { [ "$(jp -n $NS pvc data-db-0 -o jsonpath='{.status.phase}')" = Bound ]; }
if poll 30 pvc_bound; then
  PV1=$(jp -n $NS pvc data-db-0 -o jsonpath='{.spec.volumeName}'); UID1=$(jp -n $NS pvc data-db-0 -o jsonpath='{.metadata.uid}')
  ok "pvc/data-db-0 Bound to $PV1 (class $(jp pv "$PV1" -o jsonpath='{.spec.storageClassName}'), reclaim $(jp pv "$PV1" -o jsonpath='{.spec.persistentVolumeReclaimPolicy}'))"
else ko "pvc/data-db-0 not Bound: $(jp -n $NS describe pvc data-db-0 | tail -5)"; fi

# 3. Job Complete, CronJob accepted
if k -n $NS wait job/migrate --for=condition=Complete --timeout=120s >/dev/null; then
  ok "job/migrate Complete (succeeded=$(jp -n $NS job migrate -o jsonpath='{.status.succeeded}'))"
else ko "job/migrate not Complete: $(jp -n $NS pods -l job-name=migrate -o wide)"; fi
if [ "$(jp -n $NS cronjob backup -o jsonpath='{.spec.schedule}')" = "17 3 * * *" ]; then ok "cronjob/backup accepted"
else ko "cronjob/backup missing"; fi

# 4. LoadBalancer Service and Ingress status
lb_ip() { [ "$(jp -n $NS "$1" -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" = 127.0.0.1 ]; }
if poll 60 lb_ip service/web-lb; then ok "service/web-lb status.loadBalancer.ingress = $(jp -n $NS svc web-lb -o jsonpath='{.status.loadBalancer.ingress}')"
else ko "service/web-lb has no load balancer status"; fi
if poll 60 lb_ip ingress/web; then ok "ingress/web status.loadBalancer.ingress = $(jp -n $NS ingress web -o jsonpath='{.status.loadBalancer.ingress}')"
else ko "ingress/web has no load balancer status"; fi

# 2b. delete + recreate the StatefulSet with the same name: the same claim (and PV) is used again
k -n $NS delete sts db --wait=true >/dev/null
gone() { [ -z "$(jp -n $NS pods -l app.kubernetes.io/name=db -o name)" ]; }
poll 60 gone || ko "db pods not gone after deleting the StatefulSet"
k apply -f "$HERE/smoke/30-db.yaml" >/dev/null
if k -n $NS rollout status sts/db --timeout=120s >/dev/null && pvc_bound \
  && [ "$(jp -n $NS pvc data-db-0 -o jsonpath='{.metadata.uid}')" = "${UID1:-x}" ] \
  && [ "$(jp -n $NS pvc data-db-0 -o jsonpath='{.spec.volumeName}')" = "${PV1:-x}" ] \
  && [ "$(jp -n $NS pod db-0 -o jsonpath='{.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}')" = data-db-0 ]; then
  ok "recreated statefulset/db re-attached the same pvc/data-db-0 (uid $UID1) on $PV1"
else ko "recreated statefulset/db did not re-attach the same claim"; fi

if [ "${SMOKE_KEEP:-}" != 1 ]; then
  k delete ns $NS --wait=true --timeout=120s >/dev/null 2>&1 || true
  k delete pv -l herd-e2e/static-pv=herd-smoke-retain >/dev/null 2>&1 || true
  k delete storageclass herd-smoke-retain >/dev/null 2>&1 || true
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
