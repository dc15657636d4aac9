#!/usr/bin/env python3
"""How fast a change made on one instance shows on the others (run by
scripts/horizontal.sh, caching on as deployed).

An admin changes a product's price, then deactivates it, through instance A.
Meanwhile readers poll, on A and on B: the API listing of its category, the
HTML listing, the product page and (on B) a shopper's cart holding it. Each
reader notes when it first sees the change; every one must within LIMIT
seconds. Prints one line per reader and fails when any is late.

usage: propagation.py A_URL B_URL ADMIN_EMAIL ADMIN_PASSWORD [LIMIT_SECONDS]
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

A, B, EMAIL, PASSWORD = sys.argv[1:5]
LIMIT = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0


def request(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get_json(url, token=None):
    status, text = request("GET", url, token=token)
    return status, (json.loads(text) if text.startswith(("{", "[")) else None)


def token_for(base, email, password):
    status, text = request("POST", f"{base}/api/v1/auth/token", {"email": email, "password": password})
    assert status == 200, f"sign-in answered {status}: {text}"
    return json.loads(text)["access_token"]


def register(base, email, password):
    request("POST", f"{base}/api/v1/auth/register", {"email": email, "password": password, "name": "Shopper"})
    return token_for(base, email, password)


admin = token_for(A, EMAIL, PASSWORD)
# a product in stock, of a category; a shopper on B holds it in their cart
_, listing = get_json(f"{B}/api/v1/products?in_stock=true&per_page=50&sort=newest")
product = None
for item in listing["items"]:
    _, view = get_json(f"{B}/api/v1/products/{item['slug']}")
    if view and any(v["available"] > 0 for v in view["variants"]):
        product = view
        break
assert product, "no product in stock"
slug, pid, category = product["slug"], product["id"], product["category"]
sku = next(v["sku"] for v in product["variants"] if v["available"] > 0)
shopper = register(B, f"propagation{int(time.time() * 1000)}@example.ro", "a sturdy passphrase")
status, text = request("POST", f"{B}/api/v1/cart/items", {"sku": sku, "quantity": 1}, shopper)
assert status == 200, f"cart add answered {status}: {text}"
_, stored = get_json(f"{A}/api/v1/admin/products/{pid}", admin)
body = {k: stored[k] for k in ("name", "slug", "description", "brand", "category", "status", "attributes", "variants")}
old_price = min(v["price"]["amount"] for v in stored["variants"])
new_price = 424242 if old_price != 424242 else 434343
new_text = f"{new_price // 100:,}".replace(",", ".") + f",{new_price % 100:02d}"  # Romanian: 4.242,42


def in_api_listing(base):
    _, page = get_json(f"{base}/api/v1/products?category={category}&per_page=100&sort=newest")
    return next((i for i in page["items"] if i["slug"] == slug), None) if page else None


def html(base, path):
    status, text = request("GET", f"{base}{path}")
    return status, text


# every reader: (name, check(phase) -> True once it shows the change of that phase)
def readers():
    out = []
    for name, base in (("A", A), ("B", B)):
        out.append((f"{name} API listing", lambda phase, base=base: (lambda i: i is not None and i["price"]["amount"] == new_price)(in_api_listing(base)) if phase == "price" else in_api_listing(base) is None))
        out.append((f"{name} HTML listing", lambda phase, base=base: (lambda r: r[0] == 200 and slug in r[1] and new_text in r[1])(html(base, f"/c/{category}?sort=newest")) if phase == "price" else slug not in html(base, f"/c/{category}?sort=newest")[1]))
        out.append((f"{name} product page", lambda phase, base=base: (lambda r: r[0] == 200 and new_text in r[1])(html(base, f"/p/{slug}")) if phase == "price" else html(base, f"/p/{slug}")[0] == 404))
    out.append(("B cart", lambda phase: (lambda c: any(l["sku"] == sku and l["unit_price"]["amount"] == new_price for l in c["lines"]))(get_json(f"{B}/api/v1/cart", shopper)[1]) if phase == "price" else all(l["sku"] != sku for l in get_json(f"{B}/api/v1/cart", shopper)[1]["lines"])))
    return out


def measure(phase, change):
    # everything is read (and cached, TTL as deployed) before the change
    for name, check in readers():
        assert not check(phase), f"{name} shows the {phase} change before it was made"
    seen, stop = {}, threading.Event()

    def poll(name, check):
        while not stop.is_set():
            if check(phase):
                seen[name] = time.monotonic()
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=poll, args=r, daemon=True) for r in readers()]
    made = time.monotonic()
    change()
    for t in threads:
        t.start()
    deadline = made + max(LIMIT * 5, 5)
    while time.monotonic() < deadline and len(seen) < len(threads):
        time.sleep(0.02)
    stop.set()
    late = []
    for name, _ in readers():
        lag = seen.get(name)
        text = f"{lag - made:.2f} s" if lag else "not within 5 s"
        print(f"propagation: {phase} on {name}: {text}")
        if lag is None or lag - made > LIMIT:
            late.append(name)
    return late


def put(status=None, price=None):
    b = json.loads(json.dumps(body))
    if price is not None:
        for v in b["variants"]:
            v["price"]["amount"] = price
    if status is not None:
        b["status"] = status
    code, text = request("PUT", f"{A}/api/v1/admin/products/{pid}", b, admin)
    assert code == 200, f"the change answered {code}: {text}"
    return b


late = measure("price", lambda: body.update(put(price=new_price)))
late += measure("deactivation", lambda: put(status="draft"))
if late:
    print(f"propagation: FAILED, later than {LIMIT} s: {', '.join(late)}")
    sys.exit(1)
print(f"propagation: every reader on A and B saw both changes within {LIMIT} s")
