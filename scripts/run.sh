#!/usr/bin/env bash
# Runs the shop from a fresh clone: installs what is missing, builds a
# release, seeds the demo catalog when the store is empty, serves on
# http://127.0.0.1:3000 (VITRINA_ADDR). Embedded store unless MONGODB_URI is set.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_rust_tools
ensure_node_tools
log "building the release (server + WASM client)"
build_site --release --precompress

export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
export VITRINA_DATA_DIR="${VITRINA_DATA_DIR:-$ROOT/data}"
export VITRINA_ADDR="${VITRINA_ADDR:-127.0.0.1:3000}"
export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
log "serving on http://$VITRINA_ADDR (Ctrl-C stops)"
exec "$CARGO_TARGET_DIR/release/vitrina" serve --seed-if-empty
