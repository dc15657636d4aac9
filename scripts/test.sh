#!/usr/bin/env bash
# Runs every test: unit, store contract tests on SQLite and MongoDB
# (nx-27017), cache tests on Redis, black-box API/SSR tests, and the Playwright
# journeys in Chromium, Lighthouse on the release build, the deployment-file checks, and the horizontal /
# degradation run (two instances behind nginx), and the previous release beside this one on one store. Starts the services it needs on free loopback ports
# and stops them when done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
trap stop_started EXIT
trap 'exit 130' INT TERM   # Ctrl-C: the EXIT trap stops everything

ensure_rust_tools
ensure_test_services
free_disk_for_builds

start_redis
start_mongo
start_s3
start_stripe
start_maildev
start_hooks
start_anaf
log "services: redis on $REDIS_PORT, nx-27017 on $MONGO_PORT, moto (S3) on $S3_PORT, localstripe on $STRIPE_PORT, maildev (SMTP) on $SMTP_PORT, webhook receiver on $HOOKS_PORT, ANAF stand-in on $ANAF_PORT"

export VITRINA_TEST_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true"
export VITRINA_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export VITRINA_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export VITRINA_TEST_STRIPE_URL="http://127.0.0.1:$STRIPE_PORT"
export VITRINA_TEST_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" VITRINA_TEST_MAILDEV_URL="http://127.0.0.1:$MAILDEV_PORT"
export VITRINA_TEST_HOOKS_URL="http://127.0.0.1:$HOOKS_PORT"
export VITRINA_TEST_ANAF_URL="http://127.0.0.1:$ANAF_PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset VITRINA_SKIP_MISSING_SERVICES   # every store and cache run is required here

LOGDIR=$(mktemp -d)
log "cargo test (unit, contract, API)"
cargo test --features ssr 2>&1 | tee "$LOGDIR/cargo.log"

log "end-to-end: building the app (debug, into $TEST_SITE_ROOT) and running Playwright in Chromium"
LEPTOS_SITE_ROOT="$TEST_SITE_ROOT" build_site
compgen -G "$TEST_SITE_ROOT/pkg/vitrina*.wasm" >/dev/null || die "the debug site was not built into $TEST_SITE_ROOT"
E2E_PORT=$(free_port)
E2E_DATA=$(mktemp -d)
export LEPTOS_SITE_ROOT="$TEST_SITE_ROOT"
VITRINA_DATA_DIR="$E2E_DATA" "$CARGO_TARGET_DIR/debug/vitrina" seed --products 2000
export ADMIN_EMAIL="admin@e2e.test" ADMIN_PASSWORD="e2e admin passphrase"
# the journeys run from one address faster than any shopper: per-IP limits off here (tests/security.rs covers them)
VITRINA_DATA_DIR="$E2E_DATA" VITRINA_ADDR="127.0.0.1:$E2E_PORT" RUST_LOG=warn VITRINA_ANON_RATE_PER_MIN=0 VITRINA_REGISTER_RATE_PER_MIN=0 VITRINA_LOGIN_RATE_PER_MIN=1000 \
  VITRINA_ADMIN_EMAIL="$ADMIN_EMAIL" VITRINA_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  VITRINA_BANK_IBAN="RO49 AAAA 1B31 0075 9384 0000" VITRINA_BANK_BENEFICIARY="Vitrina Demo SRL" VITRINA_BANK_NAME="Banca Transilvania" \
  STRIPE_SECRET_KEY=sk_test_e2e STRIPE_PUBLISHABLE_KEY=pk_test_e2e STRIPE_WEBHOOK_SECRET=whsec_e2e \
  STRIPE_API_BASE="$VITRINA_TEST_STRIPE_URL" STRIPE_JS_URL="$VITRINA_TEST_STRIPE_URL/js.stripe.com/v3/" \
  SMTP_URL="$VITRINA_TEST_SMTP_URL" \
  VITRINA_ANAF_VAT_URL="$VITRINA_TEST_ANAF_URL/api/PlatitorTvaRest/v9/tva" VITRINA_EFACTURA_URL="$VITRINA_TEST_ANAF_URL/test/FCTEL/rest" \
  VITRINA_EFACTURA_TOKEN_URL="$VITRINA_TEST_ANAF_URL/anaf-oauth2/v1/token" VITRINA_EFACTURA_CLIENT_ID=e2e VITRINA_EFACTURA_CLIENT_SECRET=e2e \
  VITRINA_EFACTURA_REFRESH_TOKEN="seed-e2e-$(date +%s%N)" \
  "$CARGO_TARGET_DIR/debug/vitrina" serve >"$LOGDIR/e2e-server.log" 2>&1 &
track $! "$E2E_PORT" app-e2e
wait_for_http "http://127.0.0.1:$E2E_PORT/readyz" 60 || { cat "$LOGDIR/e2e-server.log"; die "the app did not become ready"; }
# localstripe signs its webhooks with the shop's secret and posts them to the shop
curl -fsS -X POST "$VITRINA_TEST_STRIPE_URL/_config/webhooks/e2e" -d url="http://127.0.0.1:$E2E_PORT/api/v1/payments/stripe/webhook" -d secret=whsec_e2e >/dev/null
(cd end2end && BASE_URL="http://127.0.0.1:$E2E_PORT" STRIPE_URL="$VITRINA_TEST_STRIPE_URL" MAILDEV_URL="$VITRINA_TEST_MAILDEV_URL" npx playwright test) 2>&1 | tee "$LOGDIR/e2e.log"

log "vitrina backup of the running end-to-end shop, restored into a new data directory"
BACKUPS=$(mktemp -d)
VITRINA_DATA_DIR="$E2E_DATA" "$CARGO_TARGET_DIR/debug/vitrina" backup --to "$BACKUPS/" 2>&1 | tee "$LOGDIR/backup.log"
ARCHIVE=$(ls "$BACKUPS"/vitrina-*.tar.gz)
VITRINA_DATA_DIR="$BACKUPS/restored" "$CARGO_TARGET_DIR/debug/vitrina" restore --from "$ARCHIVE" 2>&1 | tee -a "$LOGDIR/backup.log"
[ -s "$BACKUPS/restored/vitrina.db" ] || die "the restore wrote no store"
if VITRINA_DATA_DIR="$BACKUPS/restored" "$CARGO_TARGET_DIR/debug/vitrina" restore --from "$ARCHIVE" >>"$LOGDIR/backup.log" 2>&1; then
  die "a second restore into the same directory was not refused"
fi
rm -rf "$BACKUPS"

log "Lighthouse (mobile) on the release build: home, a listing, a product page"
bash scripts/lighthouse.sh 2>&1 | tee "$LOGDIR/lighthouse.log"

log "API fuzzing: schemathesis from the OpenAPI spec (at least 1,000 cases)"
bash scripts/schemathesis.sh 2>&1 | tee "$LOGDIR/schemathesis.log"

log "deployment files (Kubernetes schemas, Compose spec, Dockerfile structure)"
bash scripts/check-deploy.sh 2>&1 | tee "$LOGDIR/deploy.log"

log "two releases side by side on one store (a rolling deploy): the previous release and this one, SQLite and MongoDB"
bash scripts/side_by_side.sh 2>&1 | tee "$LOGDIR/side-by-side.log"

log "horizontal scaling and degradation: two instances behind nginx, Redis and MongoDB stopped"
bash scripts/horizontal.sh 2>&1 | tee "$LOGDIR/horizontal.log"

stop_started
check_nothing_left
rm -f "$VITRINA_TRACK_FILE"

passed=$(grep -hoE '^test result: ok\. [0-9]+ passed' "$LOGDIR/cargo.log" | awk '{s+=$4} END {print s+0}')
e2e=$(grep -hoE '^ *[0-9]+ passed' "$LOGDIR/e2e.log" | awk '{s+=$1} END {print s+0}')
ops=$(grep -hoE '^(deploy|horizontal|schemathesis|side-by-side): [0-9]+ passed' "$LOGDIR/deploy.log" "$LOGDIR/horizontal.log" "$LOGDIR/schemathesis.log" "$LOGDIR/side-by-side.log" | awk '{s+=$2} END {print s+0}')
echo
echo "vitrina: $((passed + e2e + ops)) passed, 0 failed"
