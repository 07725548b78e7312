#!/usr/bin/env bash
# Benchmarks thebot's engine against kubesim (issue 8):
#   - a synthetic release of 500 objects: first install and a no-op upgrade
#     (wall time, peak RSS, API requests per object from kubesim's counter);
#   - the full dev platform: requests per object on first install.
# Usage: bench/engine.sh   (builds release binaries first; needs kubectl for
# reading kubesim's control endpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p thebot -p kubesim
bin=target/release
tmp=$(mktemp -d)
cleanup() { [ -n "${ks:-}" ] && kill "$ks" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# kubesim exits when its stdin closes: keep it open with a fifo.
mkfifo "$tmp/stdin"
"$bin/kubesim" --port 0 --kubeconfig-out "$tmp/kubeconfig" < "$tmp/stdin" > "$tmp/kubesim.out" 2>&1 &
ks=$!
exec 3> "$tmp/stdin"
for _ in $(seq 50); do grep -q listening "$tmp/kubesim.out" 2>/dev/null && break; sleep 0.1; done
export KUBECONFIG="$tmp/kubeconfig"

requests() { kubectl get --raw /_sim/requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
reset() { kubectl delete --raw /_sim/requests > /dev/null; }

# 500 objects: 400 ConfigMaps, 50 Secrets, 50 Services.
mkdir -p "$tmp/synthetic"
cat > "$tmp/synthetic/synthetic.yaml" <<'T'
{% for i in range(400) %}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ name("cm-" ~ i) }}, namespace: {{ release.namespace }}, labels: {{ labels("cm") }}}
data: {index: {{ i | string }}, payload: {{ "x" * 512 }}}
{% endfor %}
{% for i in range(50) %}
---
apiVersion: v1
kind: Secret
metadata: {name: {{ name("secret-" ~ i) }}, namespace: {{ release.namespace }}, labels: {{ labels("secret") }}}
data: {token: {{ ("token-" ~ i) | b64 }}}
---
apiVersion: v1
kind: Service
metadata: {name: {{ name("svc-" ~ i) }}, namespace: {{ release.namespace }}, labels: {{ labels("svc") }}}
spec:
  # No selector: this render has no pods, and preflight refuses a
  # Service that selects none (its endpoints are managed by hand).
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
{% endfor %}
T

measure() { # label, then the thebot arguments
  local label=$1; shift
  reset
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin/thebot" "$@" -q > /dev/null
  read -r wall rss < "$tmp/time"
  echo "$label: wall ${wall}s, peak RSS $((rss / 1024)) MB, $(requests) API requests"
}

measure "synthetic 500 objects, first install" install dev --name synth -n synth --create-namespace --manifests "$tmp/synthetic"
measure "synthetic 500 objects, no-op upgrade" upgrade dev --name synth -n synth --manifests "$tmp/synthetic"
measure "dev platform, first install (waiting)" install dev --create-namespace
measure "dev platform, first install (--wait=false)" install dev --name apply-only -n apply-only --create-namespace --wait=false
objects=$("$bin/thebot" template dev | grep -c '^kind:')
echo "dev platform: $objects objects"
