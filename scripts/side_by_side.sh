#!/usr/bin/env bash
# Two releases side by side (a rolling deploy), black-box: the previous release
# (the commit in .ci/previous-release) and this one serve the same store at
# once, first the embedded SQLite file, then MongoDB (nx-27017), and each reads
# and changes what the other wrote (scripts/side_by_side.py). Run by
# scripts/test.sh. The previous release's server is built once into
# $VITRINA_PREV_CACHE (about 10 minutes the first time) and kept there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN="$CARGO_TARGET_DIR/debug/vitrina"
[ -x "$BIN" ] || die "build first: cargo build --features ssr"
PREV=$(tr -d '[:space:]' < .ci/previous-release)
CACHE="${VITRINA_PREV_CACHE:-$HOME/.cache/vitrina-prev}"
PREV_BIN="$CACHE/vitrina-$PREV"
if [ ! -x "$PREV_BIN" ]; then
  git cat-file -e "$PREV^{commit}" 2>/dev/null || die "the previous release $PREV is not in this clone's history (fetch it, or build it into $PREV_BIN)"
  log "building the previous release ($PREV) once, into $CACHE"
  command -v strip >/dev/null || apt_install binutils
  rm -rf "$CACHE/src-$PREV" && mkdir -p "$CACHE/src-$PREV"
  git archive "$PREV" | tar -x -C "$CACHE/src-$PREV"
  (cd "$CACHE/src-$PREV" && CARGO_TARGET_DIR="$CACHE/target" CARGO_PROFILE_DEV_DEBUG=0 cargo build --features ssr --bin vitrina)
  cp "$CACHE/target/debug/vitrina" "$PREV_BIN.partial" && strip "$PREV_BIN.partial" && mv "$PREV_BIN.partial" "$PREV_BIN"
  rm -rf "$CACHE/target" "$CACHE/src-$PREV"   # only the server is kept (the build would take 8 GB of disk)
fi
WORK=$(mktemp -d)
trap 'stop_started; rm -rf "$WORK"' EXIT
fail() { echo "side-by-side: FAILED — $*" >&2; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }

# as deployed (deploy/secret.yaml): every instance signs with the same key, whatever its release
export VITRINA_JWT_SECRET="side-by-side-signing-key-0123456789abcdef"
export RUST_LOG=warn VITRINA_LOGIN_RATE_PER_MIN=100000 VITRINA_API_RATE_PER_MIN=100000 VITRINA_ANON_RATE_PER_MIN=0 VITRINA_REGISTER_RATE_PER_MIN=0
export VITRINA_ADMIN_EMAIL="ops@rolling.test" VITRINA_ADMIN_PASSWORD="rolling deploy passphrase" LEPTOS_SITE_ROOT="$TEST_SITE_ROOT"

run_pair() { # STORE-NAME DATA-DIR: this release starts first (it raises the schema), then the previous one beside it
  local name=$1 data=$2 new_port old_port
  new_port=$(free_port); old_port=$(free_port)
  VITRINA_DATA_DIR="$data" VITRINA_ADDR="127.0.0.1:$new_port" "$BIN" serve >"$WORK/$name-new.log" 2>&1 &
  track $! "$new_port" "new-$name"
  wait_for_http "http://127.0.0.1:$new_port/readyz" 90 || fail "this release did not become ready on $name"
  VITRINA_DATA_DIR="$data" VITRINA_ADDR="127.0.0.1:$old_port" "$PREV_BIN" serve >"$WORK/$name-old.log" 2>&1 &
  track $! "$old_port" "old-$name"
  wait_for_http "http://127.0.0.1:$old_port/readyz" 90 || fail "the previous release did not start beside this one on $name"
  python3 scripts/side_by_side.py "http://127.0.0.1:$old_port" "http://127.0.0.1:$new_port" "$VITRINA_ADMIN_EMAIL" "$VITRINA_ADMIN_PASSWORD" "$name" \
    || fail "the two releases disagree on $name"
  stop_started
}

# SQLite: both processes on one data directory (a shared volume), one file
VITRINA_DATA_DIR="$WORK/sqlite" "$BIN" seed --products 40 >"$WORK/seed-sqlite.log" 2>&1 || fail "seed"
run_pair sqlite "$WORK/sqlite"

# a later release that contracted past the previous one's schema: the previous one refuses to start, and says what to run
python3 - "$WORK/sqlite/vitrina.db" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE kv SET value = ? WHERE ns = 'meta' AND key = 'schema'", (json.dumps({"version": 3, "compatible_from": 2, "written_by": "0.3.0"}).encode(),))
assert c.total_changes == 1, "the store records its schema"
c.commit()
PY
if VITRINA_DATA_DIR="$WORK/sqlite" VITRINA_ADDR="127.0.0.1:$(free_port)" timeout 60 "$PREV_BIN" serve >"$WORK/refused.log" 2>&1; then
  fail "the previous release started on a store it can no longer read safely"
fi
grep -q "Run Vitrina 0.3.0 or newer" "$WORK/refused.log" || fail "the refusal does not say which release to run: $(tail -3 "$WORK/refused.log")"
echo "side-by-side (sqlite): ok — on a store a later release contracted, the previous release refuses to start: $(grep -o 'this store was written.*' "$WORK/refused.log" | head -1)"

# MongoDB: one database for both
[ -n "${VITRINA_TEST_MONGODB_URI:-}" ] || die "VITRINA_TEST_MONGODB_URI is not set (scripts/test.sh starts nx-27017)"
export MONGODB_URI="$VITRINA_TEST_MONGODB_URI" MONGODB_DB="vitrina_rolling_$RANDOM"
VITRINA_DATA_DIR="$WORK/mongodb" "$BIN" seed --products 40 >"$WORK/seed-mongo.log" 2>&1 || fail "seed on MongoDB"
run_pair mongodb "$WORK/mongodb"
echo "side-by-side: 3 passed"
