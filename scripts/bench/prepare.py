"""Writes the data file of scripts/bench/random.lua from a running shop:
categories, attribute values and words from the catalog, product slugs,
SKUs in stock, and bearer tokens of freshly registered customers.

usage: prepare.py BASE_URL OUT.lua CUSTOMERS
"""
import json
import sys
import urllib.request

base, out, customers = sys.argv[1], sys.argv[2], int(sys.argv[3])


def get(path):
    with urllib.request.urlopen(base + path, timeout=60) as r:
        return json.load(r)


def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def flatten(nodes):
    for n in nodes:
        yield n["path"]
        yield from flatten(n["children"])


categories = sorted(set(flatten(get("/api/v1/categories"))))
attrs, slugs, skus, words = set(), [], [], set()
for page in range(1, 11):
    listing = get(f"/api/v1/products?per_page=100&page={page}&in_stock=true&sort=newest")
    for key, values in listing["facets"].items():
        for v in values:
            attrs.add((key, v["value"]))
    for item in listing["items"]:
        slugs.append(item["slug"])
        words.update(w.lower() for w in item["name"].split() if w.isalpha() and len(w) > 2)
for slug in slugs[:300]:
    for v in get(f"/api/v1/products/{slug}")["variants"]:
        if v["available"] > 0:
            skus.append(v["sku"])
tokens = []
for i in range(customers):
    email = f"bench{i}-{id(tokens)}@bench.test"
    post("/api/v1/auth/register", {"email": email, "password": "bench passphrase 1", "name": f"Bench {i}"})
    tokens.append(post("/api/v1/auth/token", {"email": email, "password": "bench passphrase 1"})["access_token"])


def lua_list(items):
    return "{" + ",".join(json.dumps(x, ensure_ascii=False) for x in items) + "}"


with open(out, "w", encoding="utf-8") as f:
    f.write("return {\n")
    f.write(f"  categories = {lua_list(categories)},\n")
    f.write("  attrs = {" + ",".join("{%s,%s}" % (json.dumps(k, ensure_ascii=False), json.dumps(v, ensure_ascii=False)) for k, v in sorted(attrs)) + "},\n")
    f.write(f"  words = {lua_list(sorted(words))},\n")
    f.write(f"  slugs = {lua_list(slugs)},\n")
    f.write(f"  skus = {lua_list(skus)},\n")
    f.write(f"  tokens = {lua_list(tokens)},\n")
    f.write("}\n")
print(f"{len(categories)} categories, {len(attrs)} attribute values, {len(words)} words, {len(slugs)} slugs, {len(skus)} SKUs, {len(tokens)} customers")
