#!/usr/bin/env bash
# Catalog read benchmark (a measurement, not a test: it never fails on speed).
#
# Builds the release server, seeds a fresh data dir, and loads two hot read
# paths with wrk -- the JSON API listing and the server-rendered listing page --
# once with the listing cache disabled (VITRINA_CACHE_TTL_SECS=0) and once with
# the default cache after a warm-up request. Prints req/s and p50/p95/p99.
#
# Environment (all optional):
#   CARGO_TARGET_DIR     build output           (default: $HOME/.cache/vitrina-target)
#   BENCH_SKIP_BUILD=1   use the existing release binary
#   BENCH_PRODUCTS       products to seed       (default: 10000)
#   BENCH_SECONDS        seconds per wrk run    (default: 10)
#   BENCH_THREADS        wrk threads            (default: 2)
#   BENCH_CONNECTIONS    wrk connections        (default: 64)
#   BENCH_KEEP=1         keep the temp dir (data, server logs, raw wrk output)
#   VITRINA_BIN          server binary          (default: $CARGO_TARGET_DIR/release/vitrina)
#   MONGODB_URI, REDIS_URL  passed through to the server (and the seeder) if set:
#                        then the database / cache is that one, not the embedded one.
#                        The seeder writes BENCH_PRODUCTS products into it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitrina-target}"
PRODUCTS="${BENCH_PRODUCTS:-10000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
SEED_TIMEOUT="${BENCH_SEED_TIMEOUT:-900}"
BUILD_TIMEOUT="${BENCH_BUILD_TIMEOUT:-3600}"

API_PATH='/api/v1/products?category=clothing&attr.color=Red&sort=price_asc'
SSR_PATH='/products?category=clothing&attr.color=Red&sort=price_asc'

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------
for tool in curl python3 timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if ! command -v wrk >/dev/null 2>&1; then
  log "wrk not found; installing the Debian package"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
    || die "could not install wrk (apt-get install wrk)"
fi

# --- build -------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
  log "building release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  timeout "$BUILD_TIMEOUT" bash -c 'source "$1/scripts/lib.sh"; build_site --release --precompress' _ "$ROOT"
  timeout "$BUILD_TIMEOUT" cargo build --release --features ssr --example bare_axum
fi
BARE="$CARGO_TARGET_DIR/release/examples/bare_axum"

BIN="${VITRINA_BIN:-$CARGO_TARGET_DIR/release/vitrina}"
if [ ! -x "$BIN" ] && [ -z "${VITRINA_BIN:-}" ] && [ -x "$ROOT/target/release/vitrina" ]; then
  BIN="$ROOT/target/release/vitrina"
fi
[ -x "$BIN" ] || die "no server binary at $BIN (build first, or set VITRINA_BIN)"

# cargo-leptos puts the site where `site-root` says: under the target dir for
# the default `CARGO_TARGET_DIR/site`, in ./target/site for a literal `target/site`.
SITE_ROOT=""
for candidate in "$CARGO_TARGET_DIR/site" "$ROOT/target/site"; do
  if [ -d "$candidate/pkg" ]; then SITE_ROOT="$candidate"; break; fi
done
if [ -z "$SITE_ROOT" ]; then
  SITE_ROOT="$CARGO_TARGET_DIR/site"
  log "warning: no built site (pkg/) found; static assets will 404 (the measured pages are unaffected)"
fi

# --- temp dir and server lifecycle ------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vitrina-bench.XXXXXX")"
DATA_DIR="$WORK/data"
mkdir -p "$DATA_DIR"
SERVER_PID=""
PORT=""

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  stop_server
  if [ "${BENCH_KEEP:-0}" = "1" ] || [ "$rc" -ne 0 ]; then
    log "kept $WORK (data, server logs, raw wrk output)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The server and the seeder see the same configuration. MONGODB_URI / REDIS_URL
# are inherited from the environment when set.
VITRINA_ENV=(
  VITRINA_DATA_DIR="$DATA_DIR"
  LEPTOS_SITE_ROOT="$SITE_ROOT"
  LEPTOS_OUTPUT_NAME=vitrina
  LEPTOS_ENV=PROD
  RUST_LOG="${RUST_LOG:-warn}"
)

# start_server <label> [ENV=VALUE ...]
start_server() {
  local label="$1"; shift
  PORT="$(free_port)"
  local logfile="$WORK/server-$label.log"
  log "starting server ($label) on 127.0.0.1:$PORT"
  # `env` execs the server, so $! is the server's own pid. An inherited cache
  # TTL is dropped: only the caller's ENV=VALUE arguments pick the cache setting.
  env -u VITRINA_CACHE_TTL_SECS "${VITRINA_ENV[@]}" VITRINA_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" "$@" \
    "$BIN" serve >"$logfile" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then
      # measured once its background start-up work is done: the recommendation table computed
      for _ in $(seq 1 240); do
        curl -fsS --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep -q '^vitrina_recommend_table_age_seconds' && return 0
        sleep 0.5
      done
      log "warning: the recommendation table was not computed within 120 s; measuring anyway"
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 40 "$logfile" >&2 || true
      die "server ($label) exited during startup"
    fi
    sleep 0.5
  done
  tail -n 40 "$logfile" >&2 || true
  die "server ($label) not ready after 60 tries"
}

# A URL must answer 200 before it is measured: a benchmark of error pages is worthless.
check_ok() {
  local url="$1" code
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$url")" || die "request failed: $url"
  [ "$code" = "200" ] || die "$url answered $code, expected 200"
}

WRK_LUA="$ROOT/scripts/bench/report.lua"   # one machine-readable line, microseconds

RESULTS=()

# run_wrk <scenario> <connections> <script> <url>: one wrk run, its result line kept
run_wrk() {
  local scenario="$1" conns="$2" script="$3" url="$4" out line
  out="$WORK/wrk-$(printf '%s' "$scenario" | tr -c 'A-Za-z0-9' '_').txt"
  log "wrk: $scenario (${SECONDS_PER_RUN}s, $THREADS threads, $conns connections)"
  timeout "$((SECONDS_PER_RUN + 60))" \
    wrk -t"$THREADS" -c"$conns" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency \
        -H 'Accept-Encoding: gzip' -s "$script" "$url" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed for $scenario"; }
  line="$(grep '^VITRINA_RESULT ' "$out" | tail -n 1)"
  [ -n "$line" ] || { cat "$out" >&2; die "no result line in wrk output for $scenario"; }
  RESULTS+=("$scenario|$line")
}

# measure <scenario> <path>: one URL, over and over
measure() {
  run_wrk "$1" "$CONNECTIONS" "$WRK_LUA" "http://127.0.0.1:$PORT$2"
}

# measure_mix <scenario> <mix> <connections>: random combinations (scripts/bench/random.lua)
measure_mix() {
  BENCH_DATA="$WORK/data.lua" BENCH_MIX="$2" run_wrk "$1" "$3" "$ROOT/scripts/bench/random.lua" "http://127.0.0.1:$PORT"
}

field() { # field <name> <result line>
  printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

ms() { # microseconds -> milliseconds with 2 decimals
  awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'
}

# --- seed --------------------------------------------------------------------
backend="embedded store"
[ -n "${MONGODB_URI:-}" ] && backend="MongoDB (MONGODB_URI)"
cache_backend="in-process cache"
[ -n "${REDIS_URL:-}" ] && cache_backend="Redis (REDIS_URL)"
log "seeding $PRODUCTS products into $backend"
timeout "$SEED_TIMEOUT" env "${VITRINA_ENV[@]}" "$BIN" seed --products "$PRODUCTS" >"$WORK/seed.log" 2>&1 \
  || { tail -n 40 "$WORK/seed.log" >&2; die "seeding failed"; }

# load tests are not abuse: limits out of the way, as in production behind a sized fleet
LIMITS=(VITRINA_LOGIN_RATE_PER_MIN=100000000 VITRINA_API_RATE_PER_MIN=100000000 VITRINA_PARTNER_API_RATE_PER_MIN=100000000
        VITRINA_REGISTER_RATE_PER_MIN=0 VITRINA_ANON_RATE_PER_MIN=0)

# --- run 1: cache disabled: every request does the real work --------------------
start_server nocache VITRINA_CACHE_TTL_SECS=0 "${LIMITS[@]}"
check_ok "http://127.0.0.1:$PORT$API_PATH"
check_ok "http://127.0.0.1:$PORT$SSR_PATH"
log "preparing random request data (catalog values, ${BENCH_CUSTOMERS:-100} customers with tokens)"
python3 "$ROOT/scripts/bench/prepare.py" "http://127.0.0.1:$PORT" "$WORK/data.lua" "${BENCH_CUSTOMERS:-100}" >&2
measure "API  listing, cache off" "$API_PATH"
measure "SSR  listing, cache off" "$SSR_PATH"
measure_mix "API  random facets, off" api 32
measure_mix "SSR  random pages, off" page 32
measure_mix "SSR  search page, off" search 32
measure_mix "SSR  product pages, off" product 32
measure_mix "cart adds (random)" cart 32
measure_mix "Black Friday mix, off" friday 64
stop_server

# --- run 2: default cache, warmed ------------------------------------------------
start_server cached "${LIMITS[@]}"
check_ok "http://127.0.0.1:$PORT$API_PATH"   # doubles as the warm-up request
check_ok "http://127.0.0.1:$PORT$SSR_PATH"
measure "API  listing, cache warm" "$API_PATH"
# the yardstick: a bare axum handler returning the very bytes the cached listing sends wrk (gzip)
if [ -x "$BARE" ]; then
  BARE_PORT="$(free_port)"
  "$BARE" "http://127.0.0.1:$PORT$API_PATH" "$BARE_PORT" gzip 2>"$WORK/server-bare.log" &
  BARE_PID=$!
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$BARE_PORT$API_PATH" 2>/dev/null && break; sleep 0.1; done
  cmp -s <(curl -sS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$API_PATH") <(curl -sS "http://127.0.0.1:$BARE_PORT$API_PATH") \
    || die "the bare handler does not answer the shop's bytes"
  run_wrk "bare axum, same bytes" "$CONNECTIONS" "$WRK_LUA" "http://127.0.0.1:$BARE_PORT$API_PATH"
  kill "$BARE_PID" 2>/dev/null || true; wait "$BARE_PID" 2>/dev/null || true
else
  log "no $BARE: the bare-handler comparison is left out (build it: cargo build --release --features ssr --example bare_axum)"
fi
measure "SSR  listing, cache warm" "$SSR_PATH"
measure_mix "SSR  random pages, cache" page 32
measure_mix "Black Friday mix, cache" friday 64
stop_server

# --- report ------------------------------------------------------------------
echo
echo "Vitrina catalog benchmark"
echo "  commit:     $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "  machine:    $(nproc) cores, $(uname -sm)"
echo "  data:       $PRODUCTS products, $backend, $cache_backend"
echo "  load:       wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s, gzip accepted (server and wrk share the machine)"
echo "  API:        $API_PATH"
echo "  SSR:        $SSR_PATH"
echo "  random:     scripts/bench/random.lua (category + one attr.* value + sort + page, sometimes a search word, in-stock;"
echo "              search pages: a word, sometimes a category; product pages: random slugs;"
echo "              cart adds with ${BENCH_CUSTOMERS:-100} customers' bearer tokens; Black Friday: 60 % listings, 25 % product pages, 15 % cart adds)"
echo
printf '%-28s %10s %11s %11s %11s %8s %7s\n' scenario 'req/s' p50 p95 p99 non-2xx errors
printf '%-28s %10s %11s %11s %11s %8s %7s\n' \
  '----------------------------' '----------' '-----------' '-----------' '-----------' '--------' '-------'
for entry in "${RESULTS[@]}"; do
  scenario="${entry%%|*}"
  line="${entry#*|}"
  printf '%-28s %10s %11s %11s %11s %8s %7s\n' \
    "$scenario" "$(field rps "$line")" \
    "$(ms "$(field p50 "$line")")" "$(ms "$(field p95 "$line")")" "$(ms "$(field p99 "$line")")" \
    "$(field non2xx "$line")" "$(field errors "$line")"
done
rps_of() { for entry in "${RESULTS[@]}"; do if [ "${entry%%|*}" = "$1" ]; then field rps "${entry#*|}"; fi; done; }
cached_rps="$(rps_of "API  listing, cache warm")" bare_rps="$(rps_of "bare axum, same bytes")"
if [ -n "$cached_rps" ] && [ -n "$bare_rps" ]; then
  awk -v c="$cached_rps" -v b="$bare_rps" 'BEGIN { printf "cached API listing / bare axum handler, same bytes: %.2f\n", c / b }'
fi

# --- orders: placement throughput and the contention scenario -----------------
if [ "${BENCH_ORDERS:-2000}" != 0 ]; then
  echo
  echo "Order placement (in-process server, HTTP client on the same machine):"
  cargo run --quiet --release --features ssr --example order_bench
fi
