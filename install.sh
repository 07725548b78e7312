#!/usr/bin/env bash
# Installs thebot and kubesim (the cluster simulator) from this checkout
# into ${PREFIX:-$HOME/.local}/bin. Safe to run again: it reinstalls.
#
#   ./install.sh           build (release, once for both) and install
#   ./install.sh --demo    the same, then the tour (scripts/tour.sh): a
#                          release's whole life on a simulator it starts
#                          and stops itself, with the installed binaries
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
bin="$prefix/bin"

fail() { echo "install.sh: $*" >&2; exit 1; }

demo=false
for arg in "$@"; do
  case "$arg" in
    --demo) demo=true ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $arg (usage: ./install.sh [--demo])" ;;
  esac
done

command -v cargo >/dev/null 2>&1 || fail "cargo is not installed. Install Rust (https://rustup.rs), then run ./install.sh again."
[ -f "$here/Cargo.lock" ] || fail "$here/Cargo.lock is missing: run install.sh from a complete checkout."

mkdir -p "$bin" || fail "cannot create $bin (set PREFIX to a directory you can write)."

crates=(thebot kubesim)

# One build for the workspace: the dependencies both binaries share are
# compiled once (cargo install per crate compiled them twice).
echo "Building ${crates[*]} (release) ..."
(cd "$here" && cargo build --release --workspace --locked) \
  || fail "cargo build failed (see the messages above)."

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$here/$target" ;; esac

for crate in "${crates[@]}"; do
  built="$target/release/$crate"
  [ -x "$built" ] || fail "the build did not produce $built."
  # Copy then rename: replacing a binary that is running (a kubesim up)
  # must not fail with "Text file busy".
  cp "$built" "$bin/.$crate.new.$$" && mv -f "$bin/.$crate.new.$$" "$bin/$crate" \
    || fail "cannot install $crate into $bin."
done

echo
for crate in "${crates[@]}"; do
  echo "Installed: $bin/$crate"
done
echo "thebot version: $("$bin/thebot" --version)"

# The exact line to add when $bin is not on PATH ($HOME spelled as such).
on_path=false
case ":$PATH:" in *":$bin:"*) on_path=true ;; esac
path_line="export PATH=\"$bin:\$PATH\""
case "$bin" in "$HOME"/*) path_line="export PATH=\"\$HOME/${bin#"$HOME"/}:\$PATH\"" ;; esac

if $demo; then
  echo
  echo "Running the tour with $bin/thebot and $bin/kubesim ..."
  code=0
  THEBOT="$bin/thebot" KUBESIM="$bin/kubesim" "$here/scripts/tour.sh" || code=$?
  [ "$code" -eq 0 ] || fail "the tour failed (exit $code; see above). thebot and kubesim are installed in $bin."
fi

echo
if $on_path; then
  echo "$bin is on your PATH: run 'thebot template dev' to try it, or ./install.sh --demo for the tour."
else
  echo "$bin is NOT on your PATH. Add this line to your shell's startup file (e.g. ~/.bashrc), then open a new terminal:"
  echo
  echo "  $path_line"
fi
