#!/usr/bin/env bash
# Capacity of one instance on this machine, reproducible with one command:
#   bash scripts/capacity.sh            → docs/capacity.md (and raw results)
#
# A measurement, not a test. Builds the release server and tools, seeds
# CAP_PRODUCTS products, then for each store (embedded SQLite + in-process
# cache; MongoDB (nx-27017) + Redis) runs the Black Friday load test
# (examples/loadtest.rs) at CAP_USERS simulated shoppers, and measures the
# targets with wrk: the cached API listing against a bare axum handler
# returning the same bytes, the SSR listing page at 64 connections, and the
# WASM size. Server and load generator share this machine's cores.
#
#   CAP_USERS="1000 5000 20000 50000"  CAP_SECONDS=40  CAP_THINK_MS=5000
#   CAP_PRODUCTS=10000  CAP_MONGO_PRODUCTS=2000  CAP_STORES="sqlite mongo"  CAP_SKIP_BUILD=1
#
# The MongoDB run uses nx-27017 (a MongoDB wire-protocol server written in
# Python over SQLite: the only "MongoDB" installable here), so it seeds fewer
# products; its numbers bound the app's Redis path, not MongoDB itself.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
USERS="${CAP_USERS:-1000 5000 20000 50000}"
SECS="${CAP_SECONDS:-40}"
THINK="${CAP_THINK_MS:-5000}"
PRODUCTS="${CAP_PRODUCTS:-10000}"
MONGO_PRODUCTS="${CAP_MONGO_PRODUCTS:-2000}"
STORES="${CAP_STORES:-sqlite mongo}"
OUT="${CAP_OUT:-$ROOT/docs/capacity}"
mkdir -p "$OUT"
trap stop_started EXIT
ensure_test_services
command -v wrk >/dev/null || apt_install wrk

if [ "${CAP_SKIP_BUILD:-0}" != 1 ]; then
  ensure_rust_tools; ensure_node_tools
  log "building the release server and tools"
  build_site --release --precompress
  cargo build --release --features ssr --example loadtest --example bare_axum
fi
BIN="$CARGO_TARGET_DIR/release/vitrina"
LOAD="$CARGO_TARGET_DIR/release/examples/loadtest"
BARE="$CARGO_TARGET_DIR/release/examples/bare_axum"
export LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_ENV=PROD RUST_LOG=warn
export VITRINA_LOGIN_RATE_PER_MIN=1000000 VITRINA_API_RATE_PER_MIN=1000000 VITRINA_ANON_RATE_PER_MIN=0 VITRINA_REGISTER_RATE_PER_MIN=0
WORK=$(mktemp -d)
ulimit -n 65536 2>/dev/null || true

wrk_json() { # NAME URL → $OUT/wrk-NAME.txt, prints "rps p50 p99"
  wrk -t2 -c64 -d10s --latency "$2" >"$OUT/wrk-$1.txt" 2>&1
  python3 - "$OUT/wrk-$1.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f}")
PY
}

for store in $STORES; do
  DATA="$WORK/$store"; mkdir -p "$DATA"
  unset MONGODB_URI REDIS_URL MONGODB_DB
  if [ "$store" = mongo ]; then
    start_redis; MPORT=$(free_port)
    "$VENV/bin/nx-27017" --host 127.0.0.1 -p "$MPORT" --db "$WORK/nx.db" --log-file "$WORK/nx.log" --pid-file "$WORK/nx.pid" >"$WORK/nx.out" 2>&1 &
    PIDS+=($!); wait_for_port "$MPORT" 30 || die "nx-27017 did not start"
    export MONGODB_URI="mongodb://127.0.0.1:$MPORT" MONGODB_DB=vitrina_cap REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  fi
  n="$PRODUCTS"; [ "$store" = mongo ] && n="$MONGO_PRODUCTS"
  echo "$n" >"$OUT/products-$store.txt"
  log "[$store] seeding $n products"
  VITRINA_DATA_DIR="$DATA" "$BIN" seed --products "$n" --reset >"$WORK/seed-$store.log" 2>&1
  PORT=$(free_port)
  VITRINA_DATA_DIR="$DATA" VITRINA_ADDR="127.0.0.1:$PORT" "$BIN" serve >"$WORK/server-$store.log" 2>&1 &
  SERVER=$!; PIDS+=($SERVER)
  wait_for_http "http://127.0.0.1:$PORT/readyz" 60 || die "the server did not start"
  BASE="http://127.0.0.1:$PORT"
  if [ "$store" = sqlite ]; then
    log "[$store] targets on a quiet server: cached API vs bare axum, SSR listing at 64 connections"
    API="$BASE/api/v1/products?category=clothing&attr.color=Red&sort=price_asc"
    SSR="$BASE/products?category=clothing&attr.color=Red&sort=price_asc"
    curl -s "$API" >/dev/null; curl -s "$SSR" >/dev/null
    BPORT=$(free_port)
    "$BARE" "$API" "$BPORT" 2>"$WORK/bare.log" &
    PIDS+=($!); wait_for_port "$BPORT" 20
    echo "$(wrk_json api "$API")" >"$OUT/target-api.txt"
    echo "$(wrk_json bare "http://127.0.0.1:$BPORT/api/v1/products?category=clothing&attr.color=Red&sort=price_asc")" >"$OUT/target-bare.txt"
    echo "$(wrk_json ssr "$SSR")" >"$OUT/target-ssr.txt"
  fi
  for users in $USERS; do
    log "[$store] $users simulated shoppers for ${SECS}s (think ≈${THINK} ms)"
    "$LOAD" --base "$BASE" --users "$users" --duration "$SECS" --ramp $((SECS / 4)) --think-ms "$THINK" --buyers 200 \
      --max-connections 1024 --warm 120 --label "$store" --json "$OUT/load-$store-$users.json" | tee "$OUT/load-$store-$users.txt"
    sleep 15 # let a saturated server drain before the next level
  done
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
  stop_started
done

WASM=$( (ls -t "$ROOT"/target/site/pkg/vitrina.*.wasm "$ROOT"/target/site/pkg/vitrina.wasm 2>/dev/null || true) | head -1)  # the shoppers' client
echo "$(stat -c %s "$WASM") $(gzip -9 -c "$WASM" | wc -c)" >"$OUT/target-wasm.txt"
python3 "$ROOT/scripts/capacity_report.py" "$OUT" "$THINK" "$SECS" "$PRODUCTS" >"$ROOT/docs/capacity.md"
log "wrote docs/capacity.md"
