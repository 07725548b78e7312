#!/usr/bin/env bash
# Installs thebot (and kubesim, the cluster simulator) from this checkout
# into ${PREFIX:-$HOME/.local}/bin. Safe to run again: it reinstalls.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
bin="$prefix/bin"

fail() { echo "install.sh: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || fail "cargo is not installed. Install Rust (https://rustup.rs), then run ./install.sh again."
[ -f "$here/Cargo.lock" ] || fail "$here/Cargo.lock is missing: run install.sh from a complete checkout."

mkdir -p "$bin" || fail "cannot create $bin (set PREFIX to a directory you can write)."

crates=(thebot)
# kubesim ships a binary once kubesim/src/main.rs exists.
[ -f "$here/kubesim/src/main.rs" ] && crates+=(kubesim)

for crate in "${crates[@]}"; do
  path="$here"
  [ "$crate" = kubesim ] && path="$here/kubesim"
  echo "Installing $crate into $bin ..."
  cargo install --locked --force --quiet --path "$path" --root "$prefix" \
    || fail "cargo install of $crate failed (see the messages above)."
done

echo
for crate in "${crates[@]}"; do
  echo "Installed: $bin/$crate"
done
echo "thebot version: $("$bin/thebot" --version)"
case ":$PATH:" in
  *":$bin:"*) echo "$bin is on your PATH: run 'thebot template dev' to try it." ;;
  *) echo "$bin is NOT on your PATH. Add it, e.g.: echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc" ;;
esac
