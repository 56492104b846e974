#!/usr/bin/env bash
# e2e/build-pulumi.sh — build the Pulumi toolchain for a real `pulumi up` from Go modules alone
# (no release downloads): the CLI, a Node.js language host and the kubernetes, random and tls providers.
#
#   e2e/build-pulumi.sh                  build what is missing or stale; print, on stdout:
#                                          PULUMI_BIN_DIR=<dir with pulumi and pulumi-language-nodejs>
#                                          PLUGIN_<name>=<version> <path of pulumi-resource-<name>>
#   e2e/build-pulumi.sh install-plugins  the same, then `pulumi plugin install resource <name> <version> -f <bin>`
#                                        for each provider into $PULUMI_HOME (which the caller sets), with
#                                        $PULUMI_BIN if set (another pulumi), else the one built here
#
# Each binary is built from a wrapper module under e2e/pulumi/<tool>/ (go.mod + go.sum committed, so
# -mod=readonly) and cached outside the work tree in ${HERD_E2E_CACHE:-$HOME/.cache/herd-e2e}/<tool>-<version>/.
# A stamp there holds a hash of the wrapper's go.mod, go.sum and .go files, the version, the Go version and
# this script's build recipe; a second run with nothing changed builds nothing. Progress goes to stderr.
#
# Versions are pinned below. What is built where upstream could not be (see e2e/pulumi/README.md):
#   pulumi                  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi v3.248.0 as is.
#   pulumi-language-nodejs  herd's own minimal host on sdk/v3 v3.248.0: upstream's module is not served.
#   kubernetes              provider/v4 at the one version the proxy serves (a January 2026 commit), installed
#                           as 4.34.2, the version @pulumi/kubernetes asks the engine for.
#   random, tls             the Terraform providers bridged by herd (pulumi-terraform-bridge v3.120.0) since
#                           pulumi-random/pulumi-tls provider modules are not served; installed as the
#                           versions @pulumi/random and @pulumi/tls ask for.
set -euo pipefail

me=e2e/build-pulumi.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wrappers=$here/pulumi
cache=${HERD_E2E_CACHE:-$HOME/.cache/herd-e2e}
recipe=2 # bump when the way a tool is built changes, to invalidate every stamp

PULUMI_VERSION=3.248.0
KUBERNETES_VERSION=4.34.2
RANDOM_VERSION=4.21.2
TLS_VERSION=5.6.1

say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { say "$*"; exit 1; }

mode=build
case "${1:-}" in
  "") ;;
  install-plugins) mode=install ;;
  -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (usage: $me [install-plugins])" ;;
esac

command -v go >/dev/null 2>&1 ||
  die "go not found: install Go >= 1.26 (https://go.dev/doc/install, or Debian's golang package) and put it on PATH"
gover=$(go env GOVERSION 2>/dev/null || true)
if [[ $gover =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] < 26 )); then
  die "go is $gover: install Go >= 1.26 (or export GOTOOLCHAIN=go1.27.3 so go fetches a newer toolchain)"
fi

# Warn if package.json moved on without the pins here.
pkgjson=$here/../package.json
if [[ -f $pkgjson ]]; then
  for pair in "pulumi:$PULUMI_VERSION" "kubernetes:$KUBERNETES_VERSION" "random:$RANDOM_VERSION" "tls:$TLS_VERSION"; do
    name=${pair%%:*} want=${pair#*:}
    have=$(sed -n "s/^ *\"@pulumi\/$name\": *\"\([^\"]*\)\".*/\1/p" "$pkgjson" | head -n1)
    [[ -z $have || $have == "$want" ]] || say "warning: package.json pins @pulumi/$name $have, this script builds $want"
  done
fi

export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"

# stamp_key <wrapper dir> <version>: what a cached binary was built from.
stamp_key() {
  local dir=$1 version=$2
  {
    echo "recipe=$recipe version=$version go=$gover"
    (cd "$dir" && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# go_fail <log> <tool>: turn a failed go command into one line, naming a module the proxy refuses.
go_fail() {
  local log=$1 tool=$2 refused
  refused=$(grep -m1 -E 'https?://[^ ]+/@v/[^ ]+: (403|404|410)' "$log" |
    sed -nE 's#.*https?://[^/]+/(.+)/@v/list: .*#\1#p; s#.*https?://[^/]+/(.+)/@v/(.+)\.(info|mod|zip): .*#\1@\2#p' || true)
  if [[ -n $refused ]]; then
    die "the Go module proxy refuses $refused (needed by e2e/pulumi/$tool); full log: $log"
  fi
  die "building $tool failed: $(grep -m1 -vE '^(go: downloading|# )' "$log" || echo unknown error); full log: $log"
}

# gorun <log> <tool> <command...>: run a go command in the tool's wrapper, log it, fail with one line.
gorun() {
  local log=$1 tool=$2
  shift 2
  (cd "$wrappers/$tool" && "$@") >>"$log" 2>&1 || go_fail "$log" "$tool"
}

# Build steps before `go build` of the main package, per tool (run in the wrapper dir).
prepare_kubernetes() { # $1 log, $2 version
  local moddir
  gorun "$1" kubernetes go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
  moddir=$(cd "$wrappers/kubernetes" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
  gorun "$1" kubernetes go run ./cmd/embed-schema "$moddir" "$2" .
}
prepare_bridged() { # $1 tool, $2 log, $3 version, $4 scratch dir
  local tool=$1 log=$2 version=$3 scratch=$4
  gorun "$log" "$tool" go build -trimpath -ldflags "-X herd.local/e2e/pulumi/$tool/info.Version=$version" \
    -o "$scratch/pulumi-tfgen-$tool" "./cmd/pulumi-tfgen-$tool"
  (cd "$scratch" && PULUMI_CONVERT=0 "./pulumi-tfgen-$tool" schema --out "$scratch/gen") \
    >>"$log" 2>&1 || die "generating the $tool schema failed; full log: $log"
  cp "$scratch/gen/schema.json" "$scratch/gen/bridge-metadata.json" "$wrappers/$tool/"
}

# build <tool> <version> <binary> <ldflags> <package>: ensure $cache/<tool>-<version>/<binary> is fresh.
build() {
  local tool=$1 version=$2 bin=$3 ldflags=$4 pkg=$5
  local dir=$cache/$tool-$version key stamp=$cache/$tool-$version/.stamp why="" log scratch start secs
  [[ -f $wrappers/$tool/go.mod ]] || die "missing wrapper module e2e/pulumi/$tool/go.mod"
  key=$(stamp_key "$wrappers/$tool" "$version")
  if [[ ! -f $stamp ]]; then
    why=""
  elif [[ $(sed -n 's/^key=//p' "$stamp") != "$key" ]]; then
    why="wrapper e2e/pulumi/$tool, the Go version or the build recipe changed"
  elif [[ ! -x $dir/$bin ]]; then
    why="$bin is missing or not executable"
  else
    say "cached $tool $version ($dir/$bin)"
    return 0
  fi
  [[ -z $why ]] || say "stale cache for $tool-$version ($why): rebuilding"
  say "building $tool $version (a cold build takes minutes) ..."
  mkdir -p "$dir"
  log=$dir/build.log
  : >"$log"
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/herd-e2e-$tool.XXXXXX")
  start=$SECONDS
  gorun "$log" "$tool" go mod download
  case $tool in
    kubernetes) prepare_kubernetes "$log" "$version" ;;
    random | tls) prepare_bridged "$tool" "$log" "$version" "$scratch" ;;
  esac
  gorun "$log" "$tool" go build -trimpath -ldflags "$ldflags" -o "$scratch/$bin" "$pkg"
  mv -f "$scratch/$bin" "$dir/$bin"
  rm -rf "$scratch"
  secs=$((SECONDS - start))
  printf 'key=%s\nbuilt=%s\nseconds=%s\n' "$key" "$(date -u +%FT%TZ)" "$secs" >"$stamp"
  say "built $tool $version in ${secs}s"
}

sdkver=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
build pulumi "$PULUMI_VERSION" pulumi "-X $sdkver=v$PULUMI_VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
build pulumi-language-nodejs "$PULUMI_VERSION" pulumi-language-nodejs "-X $sdkver=v$PULUMI_VERSION" .
build kubernetes "$KUBERNETES_VERSION" pulumi-resource-kubernetes \
  "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_VERSION" .
build random "$RANDOM_VERSION" pulumi-resource-random "-X herd.local/e2e/pulumi/random/info.Version=$RANDOM_VERSION" .
build tls "$TLS_VERSION" pulumi-resource-tls "-X herd.local/e2e/pulumi/tls/info.Version=$TLS_VERSION" .

# pulumi looks for language hosts beside itself: one directory with both (hard links, no copies).
bindir=$cache/bin-$PULUMI_VERSION
mkdir -p "$bindir"
for pair in pulumi:pulumi pulumi-language-nodejs:pulumi-language-nodejs; do
  src=$cache/${pair%%:*}-$PULUMI_VERSION/${pair#*:}
  if ! [[ $bindir/${pair#*:} -ef $src ]]; then
    ln -f "$src" "$bindir/${pair#*:}" 2>/dev/null || cp -f "$src" "$bindir/${pair#*:}"
  fi
done

plugins=("kubernetes $KUBERNETES_VERSION" "random $RANDOM_VERSION" "tls $TLS_VERSION")

if [[ $mode == install ]]; then
  [[ -n ${PULUMI_HOME:-} ]] || die "install-plugins needs PULUMI_HOME set (plugins go to \$PULUMI_HOME/plugins)"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_SKIP_UPDATE_CHECK=true
  for p in "${plugins[@]}"; do
    read -r name version <<<"$p"
    say "installing plugin $name $version into $PULUMI_HOME"
    "${PULUMI_BIN:-$bindir/pulumi}" plugin install resource "$name" "$version" --reinstall \
      -f "$cache/$name-$version/pulumi-resource-$name" >&2 ||
      die "pulumi plugin install resource $name $version failed"
  done
fi

echo "PULUMI_BIN_DIR=$bindir"
for p in "${plugins[@]}"; do
  read -r name version <<<"$p"
  echo "PLUGIN_$name=$version $cache/$name-$version/pulumi-resource-$name"
done
