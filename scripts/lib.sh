# Shared helpers for run.sh, test.sh and bench.sh. Source it; do not run it.
# Everything here installs only what is missing, so a second run is fast.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitrina-target}"
VENV="${VITRINA_VENV:-$HOME/.cache/vitrina-venv}"
# localstripe pins its own aiohttp: a venv of its own
STRIPE_VENV="${VITRINA_STRIPE_VENV:-$HOME/.cache/vitrina-venv-stripe}"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130

log() { printf '\033[1;32m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

APT_UPDATED=""
apt_install() { # apt_install PACKAGE... (only the missing ones)
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  # packaged services (redis, nginx) must not start on their default ports:
  # the tests start their own on free ports and stop them
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && made_policy=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -n "$made_policy" ] && as_root rm -f "$policy"
  return 0
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first (https://rustup.rs)"
  if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (debug build: about 7 minutes, once)"
    CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --debug
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 6 minutes, once)"
    CARGO_PROFILE_RELEASE_DEBUG=0 cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

# `npm ci` in $1 when its node_modules is missing or older than its package-lock.json
npm_ci_if_changed() {
  local dir="$1" what="$2" stamp="$1/node_modules/.vitrina-lock-sha256" want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing $what (npm ci in ${dir#"$ROOT"/})"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

# build_site [cargo-leptos flags]: the server and the shoppers' client (vitrina.*),
# then the admin panel's client (feature admin-client; its file hashes go to
# hash-admin.txt next to the server binary). Islands mode: each client holds
# only the islands of its pages. cargo-leptos rewrites the whole pkg dir of the
# site it builds, so the panel's client is built into a scratch site, under the
# same output name (the leptos crates read it at compile time: another name
# would rebuild them twice per build), and copied over as vitrina-admin.*.
build_site() {
  local site="${LEPTOS_SITE_ROOT:-target/site}"
  (
    cd "$ROOT"
    cargo leptos build "$@"
    LEPTOS_SITE_ROOT="$site-admin" LEPTOS_HASH_FILE_NAME=hash-admin.txt \
      cargo leptos build "$@" --frontend-only --lib-features admin-client
    rm -f "$site"/pkg/vitrina-admin.*
    for f in "$site-admin"/pkg/vitrina.*; do
      cp "$f" "$site/pkg/vitrina-admin.${f##*/vitrina.}"
    done
  )
}

# CI builds a fresh clone each time: incremental caches only pile up there
# (gigabytes per clone), so they are off under CI.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

# free_disk_for_builds: when the disk holding the build cache has less than
# 20 GB free, drops what cargo rebuilds anyway (incremental caches, linked test
# and example binaries; the dependencies' compiled libraries stay).
free_disk_for_builds() {
  mkdir -p "$CARGO_TARGET_DIR"
  local free_kb
  free_kb=$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR==2 {print $4}')
  if [ "${free_kb:-0}" -lt $((20 * 1024 * 1024)) ]; then
    log "less than 20 GB free: pruning incremental caches and linked binaries in $CARGO_TARGET_DIR"
    rm -rf "$CARGO_TARGET_DIR"/debug/incremental "$CARGO_TARGET_DIR"/front/*/debug/incremental
    find "$CARGO_TARGET_DIR"/debug/deps "$CARGO_TARGET_DIR"/debug/examples -maxdepth 1 -type f -executable \
      ! -name '*.so' ! -name '*.rlib' -delete 2>/dev/null || true
  fi
}

ensure_node_tools() { # root build tools (wasm-opt from binaryen 132)
  command -v npm >/dev/null || apt_install nodejs npm
  npm_ci_if_changed "$ROOT" "npm build tools (binaryen)"
}

ensure_test_services() {
  apt_install redis-server chromium nginx
  if [ ! -x "$VENV/bin/nx-27017" ]; then
    log "installing nx-27017 (MongoDB wire-protocol server) into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'nx-27017==0.8.1'
  fi
  if [ ! -x "$VENV/bin/moto_server" ]; then
    log "installing moto (S3-compatible server) into $VENV"
    "$VENV/bin/pip" install -q 'moto[server]==5.2.5'
  fi
  if ! "$VENV/bin/python" -c 'import saxonche' 2>/dev/null; then
    log "installing saxonche (SaxonC-HE: the official e-Factura rules, an XSLT) into $VENV"
    "$VENV/bin/pip" install -q 'saxonche==13.1.1'
  fi
  if [ ! -x "$STRIPE_VENV/bin/localstripe" ]; then
    log "installing localstripe (a stateful Stripe API stand-in) into $STRIPE_VENV"
    python3 -m venv "$STRIPE_VENV"
    "$STRIPE_VENV/bin/pip" install -q 'localstripe==1.15.10'
  fi
  if ! "$STRIPE_VENV/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
    log "installing standardwebhooks (an independent webhook signature check) into $STRIPE_VENV"
    "$STRIPE_VENV/bin/pip" install -q 'standardwebhooks==1.1.0'
  fi
  # Playwright, axe-core and maildev (an SMTP server with a REST API); no browser download: Debian's Chromium is used
  npm_ci_if_changed "$ROOT/end2end" "Playwright, axe-core and maildev"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # wait_for_port PORT SECONDS
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

wait_for_http() { # wait_for_http URL SECONDS
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}

# The tests build and serve their own (debug) site here, never in target/site,
# which the release shop of scripts/run.sh serves: running the tests does not
# change what a running shop sends.
export TEST_SITE_ROOT="$ROOT/target/site-test"

# Every process the test scripts start is tracked (PID, port, name) in one
# file shared with child scripts, stopped on exit (success, failure or
# Ctrl-C) and checked at the end (`check_nothing_left`).
export VITRINA_TRACK_FILE="${VITRINA_TRACK_FILE:-$(mktemp "${TMPDIR:-/tmp}/vitrina-started.XXXXXX")}"
PIDS=()
track() { # track PID PORT NAME
  PIDS+=("$1")
  echo "$1 $2 $3" >>"$VITRINA_TRACK_FILE"
}
stop_started() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    # give each a few seconds, then make sure
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
# Fails (listing them) if a tracked process is alive or its port still listens.
check_nothing_left() {
  local left=""
  while read -r pid port name; do
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then left="$left $name(pid $pid)"; fi
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.3); sys.exit(0 if s.connect_ex(('127.0.0.1', int(sys.argv[1]))) == 0 else 1)" "$port"; then
      left="$left $name(port $port)"
    fi
  done <"$VITRINA_TRACK_FILE"
  [ -z "$left" ] || die "still running after the tests:$left"
  log "no test service left running ($(wc -l <"$VITRINA_TRACK_FILE") started, all stopped)"
}

start_redis() { # sets REDIS_PORT
  REDIS_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$dir" --daemonize no >"$dir/redis.log" 2>&1 &
  track $! "$REDIS_PORT" redis
  wait_for_port "$REDIS_PORT" 20 || die "redis did not start"
}

start_mongo() { # sets MONGO_PORT (nx-27017, a MongoDB wire-protocol server)
  MONGO_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$VENV/bin/nx-27017" --host 127.0.0.1 -p "$MONGO_PORT" --db memory --log-file "$dir/nx.log" --pid-file "$dir/nx.pid" >"$dir/nx.out" 2>&1 &
  track $! "$MONGO_PORT" nx-27017
  wait_for_port "$MONGO_PORT" 30 || die "nx-27017 did not start"
}

start_maildev() { # sets SMTP_PORT and MAILDEV_PORT (maildev keeps every mail, lists them under /api/email)
  SMTP_PORT=$(free_port)
  MAILDEV_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$ROOT/end2end/node_modules/.bin/maildev" --smtp "$SMTP_PORT" --web "$MAILDEV_PORT" --ip 127.0.0.1 >"$dir/maildev.log" 2>&1 &
  track $! "$SMTP_PORT" maildev
  wait_for_port "$SMTP_PORT" 30 || die "maildev did not start"
  wait_for_port "$MAILDEV_PORT" 30 || die "maildev's API did not start"
}
start_hooks() { # sets HOOKS_PORT (tests/support/hook_receiver.py: checks signatures, answers 500 or hangs on demand)
  HOOKS_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$STRIPE_VENV/bin/python" "$ROOT/tests/support/hook_receiver.py" "$HOOKS_PORT" >"$dir/hooks.log" 2>&1 &
  track $! "$HOOKS_PORT" hook-receiver
  wait_for_port "$HOOKS_PORT" 30 || die "the webhook receiver did not start"
}
start_anaf() { # sets ANAF_PORT (tests/support/anaf_standin.py: ANAF's OAuth2, e-Factura with the official rules, VAT register)
  ANAF_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$VENV/bin/python" "$ROOT/tests/support/anaf_standin.py" "$ANAF_PORT" >"$dir/anaf.log" 2>&1 &
  track $! "$ANAF_PORT" anaf-standin
  # it listens once the rules (a 1 MB XSLT) are compiled
  wait_for_port "$ANAF_PORT" 120 || { cat "$dir/anaf.log" >&2; die "the ANAF stand-in did not start"; }
}
start_stripe() { # sets STRIPE_PORT (localstripe: Stripe's API, webhooks and a Stripe.js stand-in)
  STRIPE_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$STRIPE_VENV/bin/localstripe" --port "$STRIPE_PORT" --from-scratch >"$dir/localstripe.log" 2>&1 &
  track $! "$STRIPE_PORT" localstripe
  wait_for_port "$STRIPE_PORT" 60 || die "localstripe did not start"
}

start_s3() { # sets S3_PORT (moto, an S3-compatible server)
  S3_PORT=$(free_port)
  local dir; dir=$(mktemp -d)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$dir/moto.log" 2>&1 &
  track $! "$S3_PORT" moto
  wait_for_port "$S3_PORT" 60 || die "moto did not start"
}
