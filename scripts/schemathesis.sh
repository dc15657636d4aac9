#!/usr/bin/env bash
# Fuzzes the JSON API from its own OpenAPI spec with schemathesis (run by
# scripts/test.sh): at least 1,000 generated requests, as an admin, against
# a fresh debug instance with rate limits off. Fails on any 5xx, any status,
# content type, header or body the spec does not document.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
BIN="$CARGO_TARGET_DIR/debug/vitrina"
[ -x "$BIN" ] || die "build first: cargo build --features ssr"
if [ ! -x "$VENV/bin/st" ]; then
  log "installing schemathesis into $VENV"
  "$VENV/bin/pip" install -q 'schemathesis==4.32.5'
fi
trap stop_started EXIT
WORK=$(mktemp -d)
PORT=$(free_port)
ADMIN_EMAIL="fuzz@schemathesis.test" ADMIN_PASSWORD="schemathesis admin passphrase"
VITRINA_DATA_DIR="$WORK/data" "$BIN" seed --products 60 >"$WORK/seed.log" 2>&1 || die "seed failed"
# ANAF's services: the stand-in the test command started (the register, e-Factura), never the real ones
ANAF_ENV=()
if [ -n "${VITRINA_TEST_ANAF_URL:-}" ]; then
  ANAF_ENV=(VITRINA_ANAF_VAT_URL="$VITRINA_TEST_ANAF_URL/api/PlatitorTvaRest/v9/tva" VITRINA_EFACTURA_URL="$VITRINA_TEST_ANAF_URL/test/FCTEL/rest"
    VITRINA_EFACTURA_TOKEN_URL="$VITRINA_TEST_ANAF_URL/anaf-oauth2/v1/token" VITRINA_EFACTURA_CLIENT_ID=schemathesis VITRINA_EFACTURA_CLIENT_SECRET=secret)
fi
env "${ANAF_ENV[@]}" VITRINA_DATA_DIR="$WORK/data" VITRINA_ADDR="127.0.0.1:$PORT" RUST_LOG=error \
  VITRINA_ANON_RATE_PER_MIN=0 VITRINA_REGISTER_RATE_PER_MIN=0 VITRINA_LOGIN_RATE_PER_MIN=0 VITRINA_API_RATE_PER_MIN=0 \
  VITRINA_ADMIN_EMAIL="$ADMIN_EMAIL" VITRINA_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
track $! "$PORT" app-schemathesis
wait_for_http "http://127.0.0.1:$PORT/readyz" 60 || { tail -20 "$WORK/server.log"; die "the app did not become ready"; }
TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
set +e
# from the work directory: schemathesis keeps its example cache (.schemathesis/) in the current one
(cd "$WORK" && "$VENV/bin/st" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing -n "${SCHEMATHESIS_EXAMPLES:-30}" --seed 20261201 --no-shrink -w 1 \
  --suppress-health-check all --request-timeout 30 >"$WORK/st.txt" 2>&1)
rc=$?
set -e
tail -25 "$WORK/st.txt"
generated=$(grep -oE '[0-9]+ generated' "$WORK/st.txt" | tail -1 | awk '{print $1}')
if [ "$rc" != 0 ]; then
  grep -nE "^_+ |ST[0-9]+|Received|Documented|Error" "$WORK/st.txt" | head -60 >&2
  die "schemathesis found problems (exit $rc); full output in $WORK/st.txt"
fi
[ "${generated:-0}" -ge 1000 ] || die "schemathesis generated only ${generated:-0} cases (at least 1,000 wanted)"
if grep -q "server error\|ST101" "$WORK/st.txt"; then die "a 5xx answer"; fi
echo "schemathesis: 1 passed, 0 failed ($generated generated cases: no 5xx, every response as the spec says)"
