# Sourced by the scripts in this folder: the repo root, PATH for cargo-installed
# tools, and the toolchain to use for wasm32 (rustup's target if present,
# else Debian's rustc-web with the sysroot that scripts/setup builds).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

DEBIAN_SYSROOT=/usr/lib/rustlib/wasm32-unknown-unknown/lib
DEBIAN_STAMP="$DEBIAN_SYSROOT/.tokenwarden-sysroot-stamp"
# Debian's std sources (rust-web-src) and the wasm linker rustc looks for:
# the size build (scripts/build) compiles std from these.
DEBIAN_STD_SRC=/usr/lib/rustlib/src/rust
DEBIAN_RUST_LLD=/usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld

# Does rustup's active toolchain have the wasm32 target?
# TOKENWARDEN_WASM_TOOLCHAIN=debian forces the Debian recipe (to test it, or
# where rustup's target is broken); =rustup forces rustup's.
rustup_has_wasm32() {
  [ "${TOKENWARDEN_WASM_TOOLCHAIN:-}" != debian ] &&
    command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# The PATH under which `cargo`/`rustc`/`wasm-pack` build for wasm32.
wasm_path() {
  if rustup_has_wasm32; then
    printf '%s' "$PATH"
  else
    printf '/usr/bin:%s' "$PATH"
  fi
}

# The wasm-bindgen version pinned in Cargo.lock (wasm-bindgen-cli must match it exactly).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

log() { printf '\033[1;34m[tokenwarden]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[tokenwarden] %s\033[0m\n' "$*" >&2; exit 1; }
