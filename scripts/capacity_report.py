#!/usr/bin/env python3
"""Writes docs/capacity.md from the raw results of scripts/capacity.sh."""
import glob, json, math, os, sys

out, think_ms, secs, products = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
think = think_ms / 1000
runs = {}
for path in glob.glob(os.path.join(out, "load-*.json")):
    r = json.load(open(path))
    runs.setdefault(r["label"], []).append(r)

def target(name):
    p = os.path.join(out, f"target-{name}.txt")
    return open(p).read().split() if os.path.exists(p) else None

NAMES = {"sqlite": "embedded (SQLite + in-process cache)", "mongo": "MongoDB (nx-27017) + Redis"}
SLO = "p95 ≤ 500 ms and errors < 1 %"

def healthy(r):
    return r["p95_ms"] <= 500 and r["error_rate"] < 0.01

lines = []
w = lines.append
w("# Capacity")
w("")
w(f"Measured with `bash scripts/capacity.sh` on this machine: 2 cores, the server and the load generator on the same cores (a dedicated instance holds more). Release build, {secs} s per run with a {secs // 4} s ramp, after loading every page of the run once (the shop opens with warm caches).")
w("")
w(f"**Scenario** (`examples/loadtest.rs`): simulated shoppers, each waiting ≈{think:g} s (uniform ±50 %) between requests: 60 % listing / filter / search pages, 25 % product pages (storefront HTML), 10 % cart (API: view, add a line), 5 % checkout (API: add a line, place the order). At the end the tool checks that no SKU was oversold (stock = before − what acknowledged orders took, never negative).")
w("")
w(f"Offered load is about users ÷ {think:g} s. An instance is **healthy** while {SLO}.")
w("")
verdicts = {}
for label in ["sqlite", "mongo"]:
    rs = sorted(runs.get(label, []), key=lambda r: r["users"])
    if not rs:
        continue
    w(f"## {NAMES.get(label, label)}")
    w("")
    pf = os.path.join(out, f"products-{label}.txt")
    if os.path.exists(pf):
        w(f"{int(open(pf).read()):,} products" + (" (nx-27017 is a Python wire-protocol server over SQLite, the only MongoDB-compatible server installable here; these rows measure the app's Redis path with a slow store behind it, not MongoDB)." if label == "mongo" else "."))
        w("")
    w("| simulated users | offered req/s | served req/s | p50 ms | p95 ms | p99 ms | errors | orders | oversold SKUs | healthy |")
    w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |")
    for r in rs:
        w(f"| {r['users']:,} | {r['users'] / think:,.0f} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['error_rate'] * 100:.2f} % | {r['orders']:,} | {r['oversold']} | {'yes' if healthy(r) else 'no'} |")
    w("")
    w("Per request type:")
    w("")
    w("| users | type | req/s | p50 ms | p95 ms | p99 ms | errors |")
    w("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rs:
        for row in r["rows"]:
            w(f"| {r['users']:,} | {row['type']} | {row['rps']:,.1f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |")
    w("")
    ok = [r for r in rs if healthy(r)]
    bad = [r for r in rs if not healthy(r)]
    best = max(ok, key=lambda r: r["users"]) if ok else None
    first_bad = min(bad, key=lambda r: r["users"]) if bad else None
    peak = max(rs, key=lambda r: r["rps"])
    if best and first_bad:
        sat = f"between {best['users']:,} and {first_bad['users']:,} simulated users: served {best['rps']:,.0f} req/s healthy; at {first_bad['users']:,} users p95 is {first_bad['p95_ms']:,.0f} ms ({first_bad['error_rate'] * 100:.2f} % errors), peak throughput {peak['rps']:,.0f} req/s"
    elif best:
        sat = f"not reached: healthy up to the largest run, {best['users']:,} users ({best['rps']:,.0f} req/s)"
    else:
        sat = f"below {rs[0]['users']:,} users"
    per_instance = best["users"] if best else 0
    need = math.ceil(50000 / per_instance) if per_instance else None
    verdicts[label] = (per_instance, need, best)
    w(f"**Saturation point:** {sat}.")
    w("")
    if need:
        w(f"**Instances for 50,000 concurrent shoppers:** at most {per_instance:,} healthy users per instance measured here → **{need} instance(s)** of this size, plus one spare for a rolling deploy or a lost node: **{need + 1}**. Each extra instance adds its cores; the shared store and Redis must carry the sum (see below).")
    else:
        w("**Instances for 50,000 concurrent shoppers:** no healthy run to extrapolate from.")
    w("")

w("## Targets (wrk, 2 threads, 64 connections, 10 s, same machine)")
w("")
api, bare, ssr, wasm = target("api"), target("bare"), target("ssr"), target("wasm")
w("| target | measured | goal | met |")
w("| --- | --- | --- | :---: |")
if api and bare:
    ratio = float(api[0]) / float(bare[0]) if float(bare[0]) else 0
    w(f"| cached `GET /api/v1/products` vs a bare axum handler with the same bytes | {float(api[0]):,.0f} vs {float(bare[0]):,.0f} req/s, **ratio {ratio:.2f}** (p99 {api[2]} vs {bare[2]} ms) | ≥ 0.50 | {'yes' if ratio >= 0.5 else 'no'} |")
if ssr:
    w(f"| SSR listing page `/products?category=clothing&attr.color=Red&sort=price_asc` (anonymous, cached HTML) | {float(ssr[0]):,.0f} req/s, p50 {ssr[1]} ms, **p99 {ssr[2]} ms** | p99 ≤ 20 ms | {'yes' if float(ssr[2]) <= 20 else 'no'} |")
if wasm:
    raw, gz = int(wasm[0]), int(wasm[1])
    w(f"| release WASM (shoppers' client) | {raw / 1024:,.0f} KB raw, **{gz / 1024:,.0f} KB gzip** | ≤ 250 KB gzip | {'yes' if gz <= 250 * 1024 else 'no'} |")
w("")
w("Raw outputs (load-tool reports, wrk output) are in `docs/capacity/`.")

# The uncached paths: random query combinations (scripts/bench.sh), and the
# search index at 100,000 products, written there by scripts/bench.sh and
# scripts/index-size.sh. Included when present.
for name, title in (("bench-10k.md", "Where the cache does not help: random combinations, 10,000 products"),
                    ("bench-100k.md", "The same at 100,000 products"),
                    ("index-100k.md", "Search index at 100,000 products")):
    path = os.path.join(out, name)
    if os.path.exists(path):
        w("")
        w(f"## {title}")
        w("")
        w(open(path).read().rstrip())
print("\n".join(lines))
