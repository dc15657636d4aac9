#!/usr/bin/env bash
# Lighthouse 12 (mobile, simulated 4G and a slowed CPU, as shoppers on a phone
# see the shop) on the release build: the home page, a listing and a product
# page, in Romanian (the default language). Fails below the targets:
# performance >= 90, accessibility 100, best practices >= 95, SEO 100; and
# the product page's client (JS + WASM, brotli) must stay within 250 KB.
#
#   LH_SKIP_BUILD=1   use the release build already in $LH_SITE_ROOT
#   LH_KEEP=1         keep the reports (HTML and JSON) and the server log
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
trap stop_started EXIT

ensure_node_tools
npm_ci_if_changed "$ROOT/end2end" "end-to-end test tools (Playwright, axe-core, Lighthouse)"
apt_install chromium

# the release site is built apart from target/site (what scripts/run.sh serves)
LH_SITE_ROOT="${LH_SITE_ROOT:-$ROOT/target/site-lighthouse}"
if [ -z "${LH_SKIP_BUILD:-}" ]; then
  log "lighthouse: building the release site into $LH_SITE_ROOT"
  LEPTOS_SITE_ROOT="$LH_SITE_ROOT" build_site --release --precompress
fi
compgen -G "$LH_SITE_ROOT/pkg/vitrina*.wasm" >/dev/null || die "no release site in $LH_SITE_ROOT"

WORK=$(mktemp -d)
PORT=$(free_port)
BIN="$CARGO_TARGET_DIR/release/vitrina"
export LEPTOS_SITE_ROOT="$LH_SITE_ROOT" LEPTOS_ENV=PROD VITRINA_DATA_DIR="$WORK/data"
"$BIN" seed --products 2000 >/dev/null
VITRINA_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn VITRINA_ANON_RATE_PER_MIN=0 \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
track $! "$PORT" app-lighthouse
wait_for_http "http://127.0.0.1:$PORT/readyz" 60 || { cat "$WORK/server.log"; die "the release app did not become ready"; }

BASE="http://127.0.0.1:$PORT"
PRODUCT=$(curl -fsS "$BASE/api/v1/products?category=clothing/t-shirts&in_stock=true&per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["slug"])')
LH="$ROOT/end2end/node_modules/.bin/lighthouse"
failed=0
for page in "home /" "listing /c/clothing" "product /p/$PRODUCT"; do
  set -- $page
  name=$1 path=$2
  # a first request warms the page cache, as on a running shop
  curl -fsS -o /dev/null "$BASE$path"
  CHROME_PATH=/usr/bin/chromium "$LH" "$BASE$path" --quiet --form-factor=mobile \
    --only-categories=performance,accessibility,best-practices,seo \
    --extra-headers='{"Accept-Language": "ro-RO,ro;q=0.9"}' \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --output=json --output=html --output-path="$WORK/$name" >/dev/null 2>"$WORK/$name.err" \
    || { cat "$WORK/$name.err"; die "lighthouse could not audit $path"; }
  python3 - "$WORK/$name.report.json" "$name" "$path" <<'PY' || failed=1
import json, sys
report, name, path = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
targets = {"performance": 90, "accessibility": 100, "best-practices": 95, "seo": 100}
scores = {k: round((report["categories"][k]["score"] or 0) * 100) for k in targets}
line = " · ".join(f"{k} {v}" for k, v in scores.items())
bad = [k for k, t in targets.items() if scores[k] < t]
print(f"  {name:8} {path}: {line}")
for k in bad:
    for ref in report["categories"][k]["auditRefs"]:
        a = report["audits"][ref["id"]]
        if ref.get("weight", 0) > 0 and a.get("score") is not None and a["score"] < 1:
            print(f"    {k}: {a['id']} ({a['score']}): {a['title']}")
sys.exit(1 if bad else 0)
PY
done
# the client a shopper downloads before a product page is interactive: the
# storefront JS + WASM, brotli-compressed and immutable, within 250 KB
python3 - "$BASE" "/p/$PRODUCT" <<'PY' || failed=1
import re, sys, urllib.request
base, path = sys.argv[1], sys.argv[2]
html = urllib.request.urlopen(base + path).read().decode()
m = re.search(r"load\('([^']+)', '([^']+)'\); for", html)
assert m, "no storefront client in the page's loader"
total = 0
for url in (f"/pkg/{m.group(1)}.js", f"/pkg/{m.group(2)}.wasm"):
    res = urllib.request.urlopen(urllib.request.Request(base + url, headers={"Accept-Encoding": "br"}))
    body = res.read()
    enc, cache = res.headers.get("Content-Encoding"), res.headers.get("Cache-Control", "")
    print(f"  client   {url}: {len(body):,} bytes ({enc}), Cache-Control: {cache}")
    assert enc == "br" and "immutable" in cache, f"{url} is not served brotli-compressed and immutable"
    total += len(body)
print(f"  client   the product page's JS + WASM: {total:,} bytes compressed (budget 250,000)")
sys.exit(0 if total <= 250_000 else 1)
PY
if [ -n "${LH_KEEP:-}" ]; then log "kept the reports in $WORK"; else rm -rf "$WORK"; fi
[ "$failed" = 0 ] || die "Lighthouse is below the targets (performance >= 90, accessibility 100, best practices >= 95, SEO 100) or the client is over 250 KB"
log "lighthouse: every page meets the targets"
