#!/usr/bin/env bash
# The end-to-end kit: the Pulumi engine, its plugins and a Kubernetes control plane, built from Go modules, and
# clusters of simulated nodes (KWOK) on 127.0.0.1.
#
#   tests/e2e/kit.sh build      build, or find by their stamps, every binary in $OPENEDX_E2E_CACHE/bin
#   tests/e2e/kit.sh up DIR     start a fresh cluster whose files live in DIR; print the lines to `eval`
#   tests/e2e/kit.sh down DIR   stop that cluster and remove DIR
#
# Each tool is built from a pinned wrapper module in tests/e2e/tools/<wrapper>/ (go.mod and go.sum; no upstream
# source is committed): static (CGO_ENABLED=0), -trimpath, module and build caches under $OPENEDX_E2E_CACHE.
set -euo pipefail

KIT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_DIR="$KIT_DIR/tools"
PROJECT_DIR="$(cd "$KIT_DIR/../.." && pwd)"
CACHE="${OPENEDX_E2E_CACHE:-$HOME/.cache/openedx-pulumi/e2e}"
BIN="$CACHE/bin"
CLUSTER=openedx-e2e
NODES=8  # each gives its pods a /24 of addresses: room for a fleet of 50 instances

export GOMODCACHE="$CACHE/gomod" GOCACHE="$CACHE/gobuild" GOFLAGS="-modcacherw -trimpath -mod=readonly"
export CGO_ENABLED=0 GOTOOLCHAIN=local

die() { echo "kit: $*" >&2; exit 1; }

# --- build -----------------------------------------------------------------------------------------------------

# The version a wrapper's go.mod requires of a module (go.mod is the one place each version is pinned); read
# from the file alone, so that it works before anything is downloaded.
module_version() {
  (cd "$TOOLS_DIR/$1" && go mod edit -json) | python3 -c '
import json, sys
print(next(r["Version"] for r in json.load(sys.stdin)["Require"] if r["Path"] == sys.argv[1]))' "$2"
}

# A Python SDK's pinned version in requirements.txt (the plugins the program's SDKs ask for).
sdk_pin() { sed -n "s/^$1==\([0-9.]*\).*/\1/p" "$PROJECT_DIR/requirements.txt"; }

# name | wrapper | package | the module it comes from (what a report names, with the version go.mod pins)
TOOLS=(
  "pulumi|pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|github.com/pulumi/pulumi/pkg/v3"
  "pulumi-language-python|pulumi|./cmd/pulumi-language-python|github.com/pulumi/pulumi/sdk/v3"
  "pulumi-resource-random|pulumi|./cmd/pulumi-resource-random|github.com/pulumi/pulumi/sdk/v3"
  "pulumi-resource-tls|pulumi|./cmd/pulumi-resource-tls|github.com/pulumi/pulumi/sdk/v3"
  "pulumi-resource-kubernetes|pulumi-kubernetes|./cmd/pulumi-resource-kubernetes|github.com/pulumi/pulumi-kubernetes/provider/v4"
  "kube-apiserver|kube|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes"
  "kube-controller-manager|kube|k8s.io/kubernetes/cmd/kube-controller-manager|k8s.io/kubernetes"
  "kube-scheduler|kube|k8s.io/kubernetes/cmd/kube-scheduler|k8s.io/kubernetes"
  "kubectl|kube|k8s.io/kubernetes/cmd/kubectl|k8s.io/kubernetes"
  "etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|sigs.k8s.io/kwok"
  "kwokctl|kwok|sigs.k8s.io/kwok/cmd/kwokctl|sigs.k8s.io/kwok"
  "caddy|caddy|github.com/caddyserver/caddy/v2/cmd/caddy|github.com/caddyserver/caddy/v2"
  "rclone|rclone|github.com/rclone/rclone|github.com/rclone/rclone"
)

# `module@version`, and for the kit's own mains the directory they are in.
origin() {
  local wrapper="$1" package="$2" module="$3"
  local from; from="$module@$(module_version "$wrapper" "$module")"
  case "$package" in
    ./*) echo "tests/e2e/tools/$wrapper/${package#./} on $from" ;;
    *) echo "$from" ;;
  esac
}

# The provider's module is a pseudo-version: the commit of its tag v4.25.0, the newest the proxy serves.
KUBERNETES_PROVIDER_VERSION=4.25.0

ldflags() {
  local flags="-s -w"
  case "$1" in
    pulumi|pulumi-language-python)
      flags+=" -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(module_version pulumi github.com/pulumi/pulumi/pkg/v3)" ;;
    # Stand-ins answer to the version the SDK asks for, marked as ours by the build metadata.
    pulumi-resource-random) flags+=" -X main.version=$(sdk_pin pulumi-random)+standin" ;;
    pulumi-resource-tls) flags+=" -X main.version=$(sdk_pin pulumi-tls)+standin" ;;
    pulumi-resource-kubernetes)
      flags+=" -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" ;;
    kube*)
      # Helm checks the charts' kubeVersion against the server's: an unstamped build reports v0.0.0.
      local v; v="$(module_version kube k8s.io/kubernetes)"; v="${v#v}"
      local minor="${v#*.}"; minor="${minor%%.*}"
      flags+=" -X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=${v%%.*}"
      flags+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" ;;
  esac
  echo "$flags"
}

build_tags() { case "$1" in pulumi|pulumi-language-python) echo "osusergo,grpcnotrace" ;; esac; }

# Upstream's provider main embeds schema files that `go generate` writes and git ignores: write them from the
# module's committed schema (with its version set), into the wrapper's git-ignored copies.
prepare() {
  [ "$1" = pulumi-resource-kubernetes ] || return 0
  local src dst="$TOOLS_DIR/pulumi-kubernetes/cmd/pulumi-resource-kubernetes"
  src="$(cd "$TOOLS_DIR/pulumi-kubernetes" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes"
  python3 - "$src" "$dst" "$KUBERNETES_PROVIDER_VERSION" <<'PY'
import json, sys
src, dst, version = sys.argv[1:]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open(f"{dst}/schema-embed.json", "w"), separators=(",", ":"))
json.dump(json.load(open(f"{src}/terraform-mapping.json")), open(f"{dst}/terraform-mapping-embed.json", "w"),
          separators=(",", ":"))
PY
}

# What a binary is built from: its wrapper's pins and own sources, the flags and the Go version.
stamp() {
  local name="$1" wrapper="$2" package="$3"
  {
    echo "$name $package $(go env GOVERSION) $(ldflags "$name") $(build_tags "$name")"
    cat "$TOOLS_DIR/$wrapper/go.mod" "$TOOLS_DIR/$wrapper/go.sum"
    find "$TOOLS_DIR/$wrapper" -name '*.go' -print0 | sort -z | xargs -0r cat
  } | sha256sum | cut -d' ' -f1
}

# Download the modules a wrapper requires; a refusal names the module, version and reason, on one line.
# `go mod download -json` reports a refused module as a JSON object with an Error, or, when the refusal breaks
# the module graph itself, as "go: MODULE@VERSION: reading URL: STATUS" on stderr.
REFUSAL=$(cat <<'PY'
import json, re, sys
text, pos, decoder = sys.stdin.read(), 0, json.JSONDecoder()
while pos < len(text):
    if text[pos] == "{":
        module, pos = decoder.raw_decode(text, pos)
        if module.get("Error"):
            lines = module["Error"].strip().splitlines()
            sys.exit(print(f"{module['Path']}@{module.get('Version', '?')}: {lines[-1].strip()}"))
        continue
    end = text.find("\n", pos) + 1 or len(text)
    line, pos = text[pos:end].strip(), end
    if match := re.match(r"go: (\S+@\S+): (.*)", line):
        sys.exit(print(f"{match[1]}: {match[2]}"))
PY
)

download() {
  local wrapper="$1" report
  report="$(cd "$TOOLS_DIR/$wrapper" && go mod download -json 2>&1)" && return 0
  die "the Go module proxy refused $(printf '%s' "$report" | python3 -c "$REFUSAL") (wrapper tests/e2e/tools/$wrapper)"
}

build() {
  command -v go >/dev/null || die "Go is not installed: the kit builds its tools with Go 1.26 (https://go.dev/dl)"
  command -v python3 >/dev/null || die "python3 is needed to prepare the builds"
  mkdir -p "$BIN/.stamps" "$CACHE/logs"
  local total_start downloaded=" " entry name wrapper package module start log
  total_start=$(date +%s)
  echo "kit: $(go env GOVERSION), binaries in $BIN"
  for entry in "${TOOLS[@]}"; do
    IFS='|' read -r name wrapper package module <<<"$entry"
    local want from
    want="$(stamp "$name" "$wrapper" "$package")"
    from="$(origin "$wrapper" "$package" "$module")"
    if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.stamps/$name" 2>/dev/null)" = "$want" ]; then
      printf 'kit: %-27s cached  (%s)\n' "$name" "$from"
      continue
    fi
    if [[ "$downloaded" != *" $wrapper "* ]]; then
      download "$wrapper"
      downloaded+="$wrapper "
    fi
    prepare "$name"
    start=$(date +%s)
    log="$CACHE/logs/$name.log"
    local tags; tags="$(build_tags "$name")"
    if ! (cd "$TOOLS_DIR/$wrapper" && go build ${tags:+-tags "$tags"} -ldflags "$(ldflags "$name")" \
        -o "$BIN/$name.partial" "$package") >"$log" 2>&1; then
      die "building $name from $from failed: $(grep -v '^#' "$log" | head -1) (full log: $log)"
    fi
    mv "$BIN/$name.partial" "$BIN/$name"
    echo "$want" >"$BIN/.stamps/$name"
    printf 'kit: %-27s built   in %4ss (%s)\n' "$name" "$(( $(date +%s) - start ))" "$from"
  done
  # The SDK's program launcher, which the language host runs: a script in the sdk/v3 module.
  install -m 0755 "$(cd "$TOOLS_DIR/pulumi" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)/python/cmd/pulumi-language-python-exec" "$BIN/"
  echo "kit: every tool ready in $(( $(date +%s) - total_start ))s"
}

# --- cluster ---------------------------------------------------------------------------------------------------

require_tools() {
  local entry name
  for entry in "${TOOLS[@]}"; do
    name="${entry%%|*}"
    [ -x "$BIN/$name" ] || die "$BIN/$name is missing: run tests/e2e/kit.sh build first"
  done
}

# The KWOK version the wrapper's go.mod pins, read without Go (a cluster needs only the built tools).
kwok_version() { sed -n 's|^[[:space:]]*sigs.k8s.io/kwok \(v[^ ]*\).*|\1|p' "$TOOLS_DIR/kwok/go.mod"; }

kwokctl_in() { KWOK_WORKDIR="$1/kwok" "$BIN/kwokctl" --name "$CLUSTER" "${@:2}"; }

up() {
  local dir="$1"
  require_tools
  [ ! -e "$dir/kubeconfig" ] || die "$dir already holds a cluster: tests/e2e/kit.sh down $dir first"
  mkdir -p "$dir/kwok" "$dir/pulumi-home" "$dir/state" "$dir/tmp"
  dir="$(cd "$dir" && pwd)"
  local version; version="$("$BIN/kube-apiserver" --version | awk '{print $2}')"
  cat >"$dir/kwok.yaml" <<YAML
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: ${version}
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kubectlBinary: $BIN/kubectl
  etcdBinary: $BIN/etcd
  kwokControllerBinary: $BIN/kwok
componentsPatches:
  # Nothing listens on or advertises an address but 127.0.0.1 (without this the API server looks for a default
  # route, which the test's network namespace does not have).
  # Service addresses for a fleet (the API server's default, 10.0.0.0/24, runs out at about 25 instances). Like
  # the pods' addresses (a /24 per node), they are only stored: nothing listens on them.
  - name: kube-apiserver
    extraArgs:
      - key: advertise-address
        value: 127.0.0.1
      - key: service-cluster-ip-range
        value: 10.96.0.0/16
  # Claims of the default StorageClass bind: the controller manager's host-path provisioner (test clusters only).
  - name: kube-controller-manager
    extraArgs:
      - key: enable-hostpath-provisioner
        value: "true"
YAML
  # Stages given in the configuration replace KWOK's defaults: the defaults kwokctl would use (from the module
  # the tools were built from), and the kit's simulated init failure.
  local stages; stages="$GOMODCACHE/sigs.k8s.io/kwok@$(kwok_version)/kustomize/stage"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
               pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    [ -f "$stages/$stage.yaml" ] || die "$stages/$stage.yaml is missing: run tests/e2e/kit.sh build first"
    { echo "---"; cat "$stages/$stage.yaml"; } >>"$dir/kwok.yaml"
  done
  { echo "---"; cat "$KIT_DIR/kwok-init-exits-1.yaml"; } >>"$dir/kwok.yaml"
  local logs="$dir/kwok/clusters/$CLUSTER/logs"
  PATH="$BIN:$PATH" kwokctl_in "$dir" create cluster --config "$dir/kwok.yaml" --kubeconfig "$dir/kubeconfig" \
    --wait 1m >"$dir/kwokctl.log" 2>&1 || true
  # kwokctl reports a control plane that never became ready in its log only: ask the API server.
  "$BIN/kubectl" --kubeconfig "$dir/kubeconfig" get --raw /readyz >/dev/null 2>&1 ||
    die "the API server is not ready: $(grep -h '"command failed"\|^E' "$logs"/kube-apiserver.log 2>/dev/null | tail -1) (logs: $logs)"
  PATH="$BIN:$PATH" kwokctl_in "$dir" scale node --replicas "$NODES" >>"$dir/kwokctl.log" 2>&1 ||
    die "the simulated nodes were not created (log: $dir/kwokctl.log)"
  "$BIN/kubectl" --kubeconfig "$dir/kubeconfig" apply -f - >>"$dir/kwokctl.log" 2>&1 <<'YAML' ||
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
YAML
    die "the default StorageClass was not created (log: $dir/kwokctl.log)"
  env_lines "$dir"
}

# What a shell needs to use the cluster and keep the Pulumi CLI offline; temporary files stay in DIR.
env_lines() {
  local dir="$1"
  cat <<ENV
export PATH="$BIN:\$PATH"
export KUBECONFIG="$dir/kubeconfig"
export PULUMI_HOME="$dir/pulumi-home"
export PULUMI_BACKEND_URL="file://$dir/state"
export PULUMI_CONFIG_PASSPHRASE=""
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export HELM_CONFIG_HOME="$dir/helm/config" HELM_CACHE_HOME="$dir/helm/cache" HELM_DATA_HOME="$dir/helm/data"
export TMPDIR="$dir/tmp"
ENV
}

down() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/kubeconfig" ] && [ -x "$BIN/kubectl" ]; then
    # The host-path provisioner's directories live in /tmp/hostpath_pv: remove this cluster's.
    "$BIN/kubectl" --kubeconfig "$dir/kubeconfig" get pv --request-timeout=5s \
      -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' 2>/dev/null |
      grep '^/tmp/hostpath_pv/' | xargs -r rm -rf || true
  fi
  if [ -d "$dir/kwok" ] && [ -x "$BIN/kwokctl" ]; then
    PATH="$BIN:$PATH" kwokctl_in "$dir" delete cluster >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  build) build ;;
  up) [ -n "${2:-}" ] || die "usage: kit.sh up DIR"; up "$2" ;;
  down) [ -n "${2:-}" ] || die "usage: kit.sh down DIR"; down "$2" ;;
  *) echo "usage: tests/e2e/kit.sh build | up DIR | down DIR" >&2; exit 2 ;;
esac
