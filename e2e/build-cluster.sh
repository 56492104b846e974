#!/usr/bin/env bash
# Builds the local control plane used by the e2e layer from Go modules (no release downloads):
#   etcd                                   from e2e/cluster/etcd        (go.etcd.io/etcd/server/v3)
#   kube-apiserver, kube-controller-manager,
#   kube-scheduler, kubectl                from e2e/cluster/kubernetes  (k8s.io/kubernetes)
#   kwok + its upstream stage YAML         from e2e/cluster/kwok        (sigs.k8s.io/kwok)
#   an older kube-apiserver (1.30)         from e2e/cluster/kubernetes-old (preflight's version check in e2e)
# Binaries are cached outside the work tree in ${HERD_E2E_CACHE:-$HOME/.cache/herd-e2e}/<tool>-<version>/.
# A tool is rebuilt only when its wrapper go.mod/go.sum (or this script's build recipe) changed or a
# binary is missing. Progress goes to stderr; stdout gets KEY=VALUE lines (eval-able) at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CL="$HERE/cluster"
CACHE="${HERD_E2E_CACHE:-$HOME/.cache/herd-e2e}"
# Bump when the way binaries are built changes (flags, ldflags, file layout): forces a rebuild.
RECIPE=1

log() { echo "build-cluster: $*" >&2; }
die() { echo "build-cluster: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "no 'go' on PATH (Go >= 1.24 is needed to build etcd, kubernetes and kwok)"
mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"

modver() { # <wrapper dir> <module path>: version the wrapper requires
  awk -v m="$2" '($1==m && $2 ~ /^v/){print $2; exit} ($1=="require" && $2==m){print $3; exit}' "$1/go.mod"
}
stamp_of() { # hash of the wrapper's go.mod + go.sum + recipe
  { cat "$1/go.mod" "$1/go.sum"; echo "recipe=$RECIPE go=$(go env GOVERSION)"; } | sha256sum | cut -d' ' -f1
}
# needs_build <tool> <outdir> <wrapper> <binaries...>: returns 0 (and says why) when a build is needed
needs_build() {
  local tool=$1 out=$2 wrapper=$3; shift 3
  if [ ! -f "$out/.stamp" ]; then log "$tool: not built yet in $out"; return 0; fi
  if [ "$(cat "$out/.stamp")" != "$(stamp_of "$wrapper")" ]; then
    log "$tool: rebuilding, wrapper $wrapper/go.mod or go.sum (or the build recipe/Go version) changed"; return 0
  fi
  local b; for b in "$@"; do
    if [ ! -s "$out/$b" ]; then log "$tool: rebuilding, $out/$b is missing"; return 0; fi
  done
  log "$tool: up to date in $out"
  return 1
}
download() { # <tool> <wrapper>: fetch modules first so a refused module is a one-line error
  local tool=$1 wrapper=$2 errf
  errf=$(mktemp)
  if ! (cd "$wrapper" && go mod download all) >"$errf" 2>&1; then
    local line; line=$(grep -E 'go: |reading|404|410|not found|verifying' "$errf" | grep -v '^go: downloading' | head -1)
    rm -f "$errf"
    die "$tool: module download failed: ${line:-see 'cd $wrapper && go mod download all'}"
  fi
  rm -f "$errf"
}
# gobuild <tool> <wrapper> <outdir> <binary name> <package> [ldflags]
gobuild() {
  local tool=$1 wrapper=$2 out=$3 name=$4 pkg=$5 ld=${6:-} t0 t1 logf
  logf="$out/build-$name.log"
  log "$tool: building $name ($pkg)"
  t0=$(date +%s)
  if ! (cd "$wrapper" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w $ld" -o "$out/$name.tmp" "$pkg") >"$logf" 2>&1; then
    die "$tool: building $name failed: $(grep -v '^go: downloading' "$logf" | head -1) (full log: $logf)"
  fi
  mv -f "$out/$name.tmp" "$out/$name"
  t1=$(date +%s)
  log "$tool: built $name in $((t1 - t0))s"
  echo "$name $((t1 - t0))s $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$out/build-times.txt"
}

# ---- etcd ----------------------------------------------------------------------------------------
ETCD_W="$CL/etcd"
ETCD_V=$(modver "$ETCD_W" go.etcd.io/etcd/server/v3)
[ -n "$ETCD_V" ] || die "cannot read go.etcd.io/etcd/server/v3 version from $ETCD_W/go.mod"
ETCD_D="$CACHE/etcd-$ETCD_V"
if needs_build etcd "$ETCD_D" "$ETCD_W" etcd; then
  mkdir -p "$ETCD_D"; rm -f "$ETCD_D/.stamp" "$ETCD_D/build-times.txt"
  download etcd "$ETCD_W"
  gobuild etcd "$ETCD_W" "$ETCD_D" etcd go.etcd.io/etcd/server/v3
  stamp_of "$ETCD_W" >"$ETCD_D/.stamp"
fi

# ---- kubernetes ----------------------------------------------------------------------------------
K8S_W="$CL/kubernetes"
K8S_V=$(modver "$K8S_W" k8s.io/kubernetes)
[ -n "$K8S_V" ] || die "cannot read k8s.io/kubernetes version from $K8S_W/go.mod"
K8S_D="$CACHE/kubernetes-$K8S_V"
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
if needs_build kubernetes "$K8S_D" "$K8S_W" "${K8S_BINS[@]}"; then
  mkdir -p "$K8S_D"; rm -f "$K8S_D/.stamp" "$K8S_D/build-times.txt"
  download kubernetes "$K8S_W"
  # Without these, every binary (and kubectl's client side) reports v0.0.0-master+$Format.
  major=${K8S_V#v}; major=${major%%.*}
  minor=${K8S_V#v*.}; minor=${minor%%.*}
  LD=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD="$LD -X $p.gitVersion=$K8S_V -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    LD="$LD -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for b in "${K8S_BINS[@]}"; do
    gobuild kubernetes "$K8S_W" "$K8S_D" "$b" "k8s.io/kubernetes/cmd/$b" "$LD"
  done
  stamp_of "$K8S_W" >"$K8S_D/.stamp"
fi

# ---- an older kube-apiserver (preflight's version check, shown failing in npm run e2e) ----------------
OLD_W="$CL/kubernetes-old"
OLD_V=$(modver "$OLD_W" k8s.io/kubernetes)
[ -n "$OLD_V" ] || die "cannot read k8s.io/kubernetes version from $OLD_W/go.mod"
OLD_D="$CACHE/kubernetes-old-$OLD_V"
if needs_build kubernetes-old "$OLD_D" "$OLD_W" kube-apiserver; then
  mkdir -p "$OLD_D"; rm -f "$OLD_D/.stamp" "$OLD_D/build-times.txt"
  download kubernetes-old "$OLD_W"
  major=${OLD_V#v}; major=${major%%.*}
  minor=${OLD_V#v*.}; minor=${minor%%.*}
  LD="-X k8s.io/component-base/version.gitVersion=$OLD_V -X k8s.io/component-base/version.gitMajor=$major"
  LD="$LD -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  gobuild kubernetes-old "$OLD_W" "$OLD_D" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$LD"
  stamp_of "$OLD_W" >"$OLD_D/.stamp"
fi

# ---- kwok ----------------------------------------------------------------------------------------
KWOK_W="$CL/kwok"
KWOK_V=$(modver "$KWOK_W" sigs.k8s.io/kwok)
[ -n "$KWOK_V" ] || die "cannot read sigs.k8s.io/kwok version from $KWOK_W/go.mod"
KWOK_D="$CACHE/kwok-$KWOK_V"
KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
if needs_build kwok "$KWOK_D" "$KWOK_W" kwok "${KWOK_STAGES[@]/#/stages/}"; then
  mkdir -p "$KWOK_D"; rm -f "$KWOK_D/.stamp" "$KWOK_D/build-times.txt"
  download kwok "$KWOK_W"
  gobuild kwok "$KWOK_W" "$KWOK_D" kwok sigs.k8s.io/kwok/cmd/kwok
  # kwok's own node/pod lifecycle stages ship in the module (kustomize/stage); copy the ones we use.
  src=$(cd "$KWOK_W" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  [ -d "$src/kustomize/stage" ] || die "kwok: $src/kustomize/stage not found in the downloaded module"
  rm -rf "$KWOK_D/stages"
  for s in "${KWOK_STAGES[@]}"; do
    mkdir -p "$KWOK_D/stages/$(dirname "$s")"
    install -m 0644 "$src/kustomize/stage/$s" "$KWOK_D/stages/$s"
  done
  stamp_of "$KWOK_W" >"$KWOK_D/.stamp"
fi

# ---- one bin dir with every tool -----------------------------------------------------------------
BIN="$CACHE/bin"
mkdir -p "$BIN"
ln -sfn "$ETCD_D/etcd" "$BIN/etcd"
for b in "${K8S_BINS[@]}"; do ln -sfn "$K8S_D/$b" "$BIN/$b"; done
ln -sfn "$KWOK_D/kwok" "$BIN/kwok"

echo "CLUSTER_BIN_DIR=$BIN"
echo "CLUSTER_ETCD_VERSION=$ETCD_V"
echo "CLUSTER_KUBERNETES_VERSION=$K8S_V"
echo "CLUSTER_KWOK_VERSION=$KWOK_V"
echo "CLUSTER_KWOK_STAGES_DIR=$KWOK_D/stages"
echo "CLUSTER_OLD_APISERVER=$OLD_D/kube-apiserver"
echo "CLUSTER_OLD_KUBERNETES_VERSION=$OLD_V"
