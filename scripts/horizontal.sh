#!/usr/bin/env bash
# Horizontal scaling and degradation, black-box (run by scripts/test.sh):
#   two app instances behind nginx on loopback, sharing Redis and MongoDB
#   (nx-27017, file-backed so it can be restarted):
#   1. a session made through one instance is valid on the other;
#   2. an admin's price change and deactivation through A show within 1 s on B's API
#      listing, HTML listing, product page and cart, and on A's (caching on as
#      deployed, TTL 60 s: the change travels on the Redis change feed);
#   3. stopping one instance (SIGKILL) during a load run loses no acknowledged order;
#   4. Redis stopped in the middle of a load run: error rate < 1 %, the cache comes back;
#   5. MongoDB down: /readyz 503, the API answers 503 problem+json, pages a friendly
#      503; MongoDB back: ready again without a restart.
# Needs the debug server and the load tool built (`cargo test` builds examples).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN="$CARGO_TARGET_DIR/debug/vitrina"
LOAD="$CARGO_TARGET_DIR/debug/examples/loadtest"
[ -x "$BIN" ] && [ -x "$LOAD" ] || die "build first: cargo build --features ssr --examples"
ensure_test_services
trap stop_started EXIT
WORK=$(mktemp -d)
fail() { echo "horizontal: FAILED — $*" >&2; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }
pass() { echo "horizontal: ok — $*"; PASSED=$((PASSED + 1)); }
PASSED=0

start_redis_on() { # PORT
  redis-server --bind 127.0.0.1 --port "$1" --save '' --appendonly no --dir "$WORK" --daemonize no >>"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  track "$REDIS_PID" "$1" redis
  wait_for_port "$1" 20 || fail "redis did not start"
}
start_mongo_on() { # PORT (file-backed: data survives a restart)
  "$VENV/bin/nx-27017" --host 127.0.0.1 -p "$1" --db "$WORK/shop.db" --log-file "$WORK/nx.log" --pid-file "$WORK/nx.pid" >>"$WORK/nx.out" 2>&1 &
  MONGO_PID=$!
  track "$MONGO_PID" "$1" nx-27017
  wait_for_port "$1" 30 || fail "nx-27017 did not start"
}

REDIS_PORT=$(free_port); MONGO_PORT=$(free_port)
start_redis_on "$REDIS_PORT"; start_mongo_on "$MONGO_PORT"
export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT" MONGODB_DB="vitrina_h" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" VITRINA_REDIS_PREFIX="h$RANDOM:"
# every instance of a shop signs with the same key (the deployment's Secret)
export VITRINA_JWT_SECRET="horizontal-test-signing-key-0123456789abcdef"
export LEPTOS_SITE_ROOT="$TEST_SITE_ROOT" VITRINA_CACHE_TTL_SECS=60 VITRINA_LOGIN_RATE_PER_MIN=100000 VITRINA_API_RATE_PER_MIN=100000 VITRINA_ANON_RATE_PER_MIN=0 VITRINA_REGISTER_RATE_PER_MIN=0
export VITRINA_ADMIN_EMAIL="ops@horizontal.test" VITRINA_ADMIN_PASSWORD="horizontal passphrase" RUST_LOG=warn VITRINA_TRUST_PROXY=1 VITRINA_MONGODB_SLOW_MS=1000
VITRINA_DATA_DIR="$WORK/seed" "$BIN" seed --products 300 >"$WORK/seed.log" 2>&1 || fail "seed"

PORT_A=$(free_port); PORT_B=$(free_port); PORT_LB=$(free_port)
start_app() { # NAME PORT
  VITRINA_DATA_DIR="$WORK/$1" VITRINA_ADDR="127.0.0.1:$2" "$BIN" serve >"$WORK/app-$1.log" 2>&1 &
  track $! "$2" "app-$1"
  eval "PID_$1=$!"
  wait_for_http "http://127.0.0.1:$2/readyz" 60 || fail "instance $1 did not become ready"
}
start_app A "$PORT_A"; start_app B "$PORT_B"

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  upstream shop { server 127.0.0.1:$PORT_A max_fails=1 fail_timeout=5s; server 127.0.0.1:$PORT_B max_fails=1 fail_timeout=5s; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT_LB;
    location / {
      proxy_pass http://shop; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_next_upstream error timeout http_502; proxy_connect_timeout 1s;
    }
  }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 &
track $! "$PORT_LB" nginx
wait_for_port "$PORT_LB" 20 || fail "nginx did not start"
LB="http://127.0.0.1:$PORT_LB"; A="http://127.0.0.1:$PORT_A"; B="http://127.0.0.1:$PORT_B"

# 1. a session made through A is valid on B
JAR="$WORK/cookies"
curl -s -o /dev/null -c "$JAR" -X POST "$A/login" -H "Origin: $A" --data-urlencode "email=$VITRINA_ADMIN_EMAIL" --data-urlencode "password=$VITRINA_ADMIN_PASSWORD" --data-urlencode "next=/account"
grep -q vitrina_session "$JAR" || fail "no session cookie from A"
code=$(curl -s -o "$WORK/account-b.html" -w '%{http_code}' -b "$JAR" "$B/account")
[ "$code" = 200 ] && grep -q "$VITRINA_ADMIN_EMAIL" "$WORK/account-b.html" || fail "the session from A is not valid on B ($code)"
pass "a session signed in on A is valid on B"

# 2. a price change and a deactivation made on A show on B (and A) within 1 s, TTL 60 s
token() { curl -s -X POST "$1/api/v1/auth/token" -H 'content-type: application/json' -d "{\"email\":\"$VITRINA_ADMIN_EMAIL\",\"password\":\"$VITRINA_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
python3 scripts/propagation.py "$A" "$B" "$VITRINA_ADMIN_EMAIL" "$VITRINA_ADMIN_PASSWORD" 1.0 >"$WORK/propagation.log" 2>&1 || { cat "$WORK/propagation.log"; fail "a change on A did not show within 1 s everywhere"; }
cat "$WORK/propagation.log"
grep -q "ready: .*changes=redis version=" <(curl -s "$B/readyz") || fail "/readyz does not say changes travel on Redis: $(curl -s "$B/readyz")"
SLUG=$(curl -s "$B/api/v1/products?per_page=1&sort=price_asc&in_stock=true" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["slug"])')
pass "a price change and a deactivation on A show on B's and A's API listing, HTML listing, product page and B's cart within 1 s (cache TTL 60 s)"

# 3. kill A during a load run through nginx: no acknowledged order is lost
"$LOAD" --base "$LB" --users 60 --duration 16 --ramp 2 --think-ms 250 --buyers 20 --max-connections 64 \
  --orders-out "$WORK/orders.txt" --json "$WORK/load1.json" >"$WORK/load1.log" 2>&1 &
LOAD_PID=$!
sleep 8
kill -9 "$PID_A"
echo "horizontal: instance A killed during the load run" >&2
wait "$LOAD_PID" || fail "load run (or its stock check) failed: $(tail -5 "$WORK/load1.log")"
cat "$WORK/load1.log"
TOKEN=$(token "$B")
python3 - "$B" "$TOKEN" "$WORK/orders.txt" <<'PY' || fail "acknowledged orders are missing"
import json, sys, urllib.request
base, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
acked = [l.strip() for l in open(path) if l.strip()]
found, page = set(), 1
while True:
    req = urllib.request.Request(f"{base}/api/v1/admin/orders?per_page=100&page={page}", headers={"Authorization": f"Bearer {token}"})
    data = json.load(urllib.request.urlopen(req))
    found.update(o["id"] for o in data["items"])
    if page * 100 >= data["total"]:
        break
    page += 1
missing = [o for o in acked if o not in found]
print(f"{len(acked)} acknowledged orders, {len(missing)} missing")
sys.exit(1 if missing or not acked else 0)
PY
pass "no acknowledged order lost when an instance died mid-run"

# 4. Redis stopped in the middle of a load run (through B only)
"$LOAD" --base "$B" --users 60 --duration 18 --ramp 2 --think-ms 250 --buyers 20 --max-connections 64 --json "$WORK/load2.json" >"$WORK/load2.log" 2>&1 &
LOAD_PID=$!
sleep 6
kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
echo "horizontal: Redis stopped" >&2
sleep 5
start_redis_on "$REDIS_PORT"
echo "horizontal: Redis started again" >&2
wait "$LOAD_PID" || fail "load run with Redis stopped failed: $(tail -5 "$WORK/load2.log")"
cat "$WORK/load2.log"
rate=$(python3 -c "import json; print(json.load(open('$WORK/load2.json'))['error_rate'])")
python3 -c "import sys; sys.exit(0 if $rate < 0.01 else 1)" || fail "error rate $rate with Redis stopped"
errors=$(curl -s "$B/metrics" | awk '/^vitrina_cache_errors_total/ {print $2}')
[ "${errors:-0}" -gt 0 ] || fail "the Redis outage was not noticed (cache_errors_total = $errors)"
# the cache comes back by itself: a repeated read becomes a hit again
sleep 2
hits0=$(curl -s "$B/metrics" | awk '/^vitrina_cache_hits_total/ {print $2}')
curl -s "$B/api/v1/products?q=redis-back" >/dev/null; sleep 2.5; curl -s "$B/api/v1/products?q=redis-back" >/dev/null
hits1=$(curl -s "$B/metrics" | awk '/^vitrina_cache_hits_total/ {print $2}')
redis-cli -p "$REDIS_PORT" --scan --pattern "${VITRINA_REDIS_PREFIX}cat:*redis-back*" | grep -q . || fail "nothing cached in Redis after it came back"
[ "$hits1" -gt "$hits0" ] || fail "no cache hit after Redis came back"
pass "Redis stopped mid-run: error rate $(python3 -c "print(round($rate*100,3))") %, $errors calls bypassed, cache back by itself"

# 5. MongoDB down and back
kill "$MONGO_PID"; wait "$MONGO_PID" 2>/dev/null || true
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$B/readyz")
[ "$code" = 503 ] || fail "/readyz answered $code with MongoDB down"
# listings and search keep answering from the instance's search index ...
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$B/api/v1/products?q=mongo-down-$RANDOM&attr.color=Red")
[ "$code" = 200 ] || fail "a listing answered $code with MongoDB down (the search index should answer)"
# ... what needs the store answers 503
curl -s -m 10 -D "$WORK/h.txt" -o "$WORK/api.json" "$B/api/v1/products/mongo-down-$RANDOM"
grep -q "^HTTP/1.1 503" "$WORK/h.txt" && grep -qi "content-type: application/problem+json" "$WORK/h.txt" || fail "the API did not answer 503 problem+json: $(head -1 "$WORK/h.txt")"
code=$(curl -s -o "$WORK/page.html" -w '%{http_code}' -m 10 "$B/p/mongo-down-$RANDOM")
[ "$code" = 503 ] && grep -q "își trage sufletul" "$WORK/page.html" || fail "the listing page answered $code without the friendly message"
start_mongo_on "$MONGO_PORT"
wait_for_http "$B/readyz" 30 || fail "not ready again after MongoDB came back"
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/api/v1/products/$SLUG")
[ "$code" = 200 ] || fail "the API answered $code after MongoDB came back"
pass "MongoDB down: listings answer from the search index; product reads 503 problem+json, friendly page, /readyz 503; back without a restart"

echo "horizontal: $PASSED passed, 0 failed"
