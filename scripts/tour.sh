#!/usr/bin/env bash
# The tour: a release's whole life on a simulated cluster, in about ten
# seconds. It starts its own kubesim (`kubesim up`, in a private state
# directory), points KUBECONFIG at it, runs thebot as you would against a
# real cluster, and stops the simulator on the way out, even on failure.
#
#   scripts/tour.sh              # thebot and kubesim from PATH
#   THEBOT=/path/to/thebot KUBESIM=/path/to/kubesim scripts/tour.sh
#
# Each step prints its command, its output, then "(exit N, as expected)";
# the tour stops with exit 1 at the first step whose exit code is not the
# expected one. Every step is one `step EXPECTED 'COMMAND'` line below.
set -uo pipefail

thebot_bin="${THEBOT:-$(command -v thebot || true)}"
kubesim_bin="${KUBESIM:-$(command -v kubesim || true)}"
for pair in "thebot:$thebot_bin" "kubesim:$kubesim_bin"; do
  name="${pair%%:*}" path="${pair#*:}"
  if [ -z "$path" ] || [ ! -x "$path" ]; then
    echo "tour: cannot find the $name binary (${path:-not on PATH}): run ./install.sh, or set ${name^^}=/path/to/$name" >&2
    exit 1
  fi
done

# The commands below are printed as typed; these make them run the chosen
# binaries.
thebot() { "$thebot_bin" "$@"; }
kubesim() { "$kubesim_bin" "$@"; }

# A private state directory: the tour's kubesim is not the one you may
# keep up with `kubesim up`, and its kubeconfig is not yours.
yours="${XDG_STATE_HOME:-$HOME/.local/state}/kubesim/kubeconfig"
state="$(mktemp -d "${TMPDIR:-/tmp}/thebot-tour.XXXXXX")" || exit 1
export XDG_STATE_HOME="$state"
unset KUBECONFIG

cleanup() {
  kubesim down >/dev/null 2>&1
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

n=0
total=12
say() { printf '\n==> %s\n' "$*"; }

# step EXPECTED 'COMMAND' CAPTION...: prints and runs COMMAND, and stops
# the tour unless it exits EXPECTED.
step() {
  local expected="$1" command="$2" code
  shift 2
  n=$((n + 1))
  say "$n/$total $*"
  printf '$ %s\n' "$command"
  eval "$command"
  code=$?
  # (A blank line first: some outputs do not end with a newline.)
  if [ "$code" -ne "$expected" ]; then
    printf '\n    (exit %s, expected %s)\n' "$code" "$expected"
    echo "tour: step $n ($command) gave exit $code, expected $expected: stopping" >&2
    exit 1
  fi
  printf '\n    (exit %s, as expected)\n' "$code"
}

say "The tour: thebot's release lifecycle on kubesim, a simulated Kubernetes API server."
echo "Every command is printed as you would type it against a real cluster."

# kubesim up prints one line, the export to run.
n=$((n + 1))
say "$n/$total Start a simulated cluster in the background"
printf '$ %s\n' "kubesim up"
if ! export_line="$(kubesim up)" || [[ "$export_line" != "export KUBECONFIG="* ]]; then
  echo "tour: kubesim up failed: stopping" >&2
  exit 1
fi
printf '%s\n' "$export_line"
printf '    (exit 0, as expected)\n'
printf '$ %s\n' "$export_line"
eval "$export_line"

step 0 'thebot install dev --create-namespace' \
  "Install the dev environment: release thebot-dev, revision 1, in namespace thebot-dev"
step 0 'thebot status' \
  "The release and the live state of every object it owns"
step 0 'thebot upgrade --set images.backend.tag=1.5.0' \
  "Upgrade to a new backend image: revision 2"
step 4 'thebot upgrade --reuse-values --set images.frontend.tag=1.5.0-crashloop --atomic' \
  "Upgrade to a frontend that crash-loops, with --atomic. EXPECTED TO FAIL with exit 4 (rollout failed): revision 3 fails and --atomic restores revision 2 as revision 4"
step 0 'thebot history' \
  "Every revision, the failed one included"
step 1 'thebot rollback 1' \
  "Roll back to revision 1. EXPECTED TO BE REFUSED with exit 1: revision 1 runs backend 1.4.0, but revision 2 migrated the database with 1.5.0; nothing is written"
step 0 'thebot rollback 1 --allow-schema-mismatch' \
  "Roll back anyway (here the migration is backward compatible): recorded as revision 5"
step 0 'thebot diff' \
  "What an upgrade to the dev environment would change now"
step 0 'thebot uninstall' \
  "Delete what the release owns (its volumes and the namespace stay)"
step 0 'thebot list -A' \
  "No release is left"
step 0 'kubesim down' \
  "Stop the simulated cluster"

cat <<EOF

Tour complete: every step gave the expected exit code, and nothing is left running.

To try commands by hand, keep a simulator up (in the background until you
stop it; its kubeconfig stays at the same path):

  kubesim up                # prints the line to run next:
  export KUBECONFIG=$yours
  thebot install dev --create-namespace
  thebot status
  kubesim down

Against a real cluster the same thebot commands use your own kubeconfig.
EOF
