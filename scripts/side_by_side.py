"""Two releases serving one store at once, as during a rolling deploy.

Usage: side_by_side.py OLD_BASE NEW_BASE ADMIN_EMAIL ADMIN_PASSWORD STORE_NAME

OLD serves the previous release, NEW this one, on the same store. Each reads
and changes what the other wrote, through the public and admin API: products,
carts, orders (placed, looked up, cancelled, shipped) and promotions. Any
failure exits non-zero naming the step; each passed step prints a line.
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

OLD, NEW, ADMIN_EMAIL, ADMIN_PASSWORD, STORE = sys.argv[1:6]
NAMES = {OLD: "previous release", NEW: "this release"}
passed = 0


def call(base, method, path, token=None, body=None, key=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if key:
        req.add_header("idempotency-key", key)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def expect(base, method, path, status, token=None, body=None, key=None):
    got, data = call(base, method, path, token, body, key)
    if got != status:
        fail(f"{method} {path} on the {NAMES[base]} answered {got}, not {status}: {str(data)[:400]}")
    return data


def fail(why):
    print(f"side-by-side ({STORE}): FAILED — {why}", file=sys.stderr)
    sys.exit(1)


def ok(what):
    global passed
    passed += 1
    print(f"side-by-side ({STORE}): ok — {what}")


def token(base, email, password):
    return expect(base, "POST", "/api/v1/auth/token", 200, body={"email": email, "password": password})["access_token"]


admin_new, admin_old = token(NEW, ADMIN_EMAIL, ADMIN_PASSWORD), token(OLD, ADMIN_EMAIL, ADMIN_PASSWORD)

# a product written by each release is read and changed by the other
tag = uuid.uuid4().hex[:8]
def product(name, sku, price):
    return {"name": name, "slug": f"{name.lower().replace(' ', '-')}-{tag}", "description": f"{name}, for the rolling deploy.", "brand": "Rolling",
            "category": "home/kitchen", "status": "active", "attributes": {"material": "steel"},
            "variants": [{"sku": f"{sku}-{tag}", "options": {}, "price": {"amount": price, "currency": "RON"}, "stock": 40}]}

made_new = expect(NEW, "POST", "/api/v1/admin/products", 201, admin_new, product("New Kettle", "NK", 12100))
made_old = expect(OLD, "POST", "/api/v1/admin/products", 201, admin_old, product("Old Kettle", "OK", 24200))
for base, admin, made in [(OLD, admin_old, made_new), (NEW, admin_new, made_old)]:
    seen = expect(base, "GET", f"/api/v1/admin/products/{made['id']}", 200, admin)
    if seen["name"] != made["name"] or seen["variants"][0]["price"]["amount"] != made["variants"][0]["price"]["amount"]:
        fail(f"the {NAMES[base]} reads {made['name']} differently: {seen}")
    change = {k: seen[k] for k in ("name", "slug", "description", "brand", "category", "status", "attributes", "variants")}
    change["variants"][0]["price"]["amount"] += 100
    expect(base, "PUT", f"/api/v1/admin/products/{made['id']}", 200, admin, change)
for base, admin, made in [(NEW, admin_new, made_new), (OLD, admin_old, made_old)]:
    seen = expect(base, "GET", f"/api/v1/admin/products/{made['id']}", 200, admin)
    if seen["variants"][0]["price"]["amount"] != made["variants"][0]["price"]["amount"] + 100:
        fail(f"the {NAMES[base]} lost the other release's price change: {seen['variants'][0]}")
ok("a product created by each release is read and repriced by the other")

# a promotion made by this release is applied through the previous one
code = f"ROLL{tag}".upper()
promo = expect(NEW, "POST", "/api/v1/admin/promotions", 201, admin_new,
               {"name": "Rolling deploy", "code": code, "kind": "percent", "value": 10, "applies_to": {"scope": "order", "ids": []},
                "min_subtotal_cents": 0, "starts_at": None, "ends_at": None, "usage_limit": 100, "per_customer_limit": None, "active": True})
if expect(OLD, "GET", f"/api/v1/admin/promotions/{promo['id']}", 200, admin_old)["code"] != code:
    fail("the previous release reads the promotion differently")

# a shopper's cart moves between the releases as the load balancer pleases
email, password = f"ana-{tag}@example.com", "a rolling passphrase"
expect(NEW, "POST", "/api/v1/auth/register", 201, body={"email": email, "password": password, "name": "Ana Rolling"})
ana_new, ana_old = token(NEW, email, password), token(OLD, email, password)
sku_new, sku_old = made_new["variants"][0]["sku"], made_old["variants"][0]["sku"]
expect(NEW, "POST", "/api/v1/cart/items", 200, ana_new, {"sku": sku_new, "quantity": 2})
expect(OLD, "POST", "/api/v1/cart/items", 200, ana_old, {"sku": sku_old, "quantity": 1})
for base, t in [(NEW, ana_new), (OLD, ana_old)]:
    lines = {l["sku"]: l["quantity"] for l in expect(base, "GET", "/api/v1/cart", 200, t)["lines"]}
    if lines != {sku_new: 2, sku_old: 1}:
        fail(f"the {NAMES[base]} shows the cart as {lines}")
expect(OLD, "POST", "/api/v1/cart/coupon", 200, ana_old, {"code": code})
ok("a cart filled through both releases shows the same lines on each; this release's promotion applies through the previous one")

# orders: placed through one, read, listed and changed through the other
address = {"name": "Ana Rolling", "street": "Strada Mare 3", "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40 711 222 333"}
first = expect(NEW, "POST", "/api/v1/orders", 201, ana_new, {"shipping_address": address}, key=str(uuid.uuid4()))
if first.get("vat_percent") != 21 or first.get("coupon") != code:
    fail(f"this release's order lacks its VAT rate or coupon: {first}")
seen = expect(OLD, "GET", f"/api/v1/orders/{first['id']}", 200, ana_old)
if (seen["number"], seen["total"], seen["vat"], len(seen["lines"])) != (first["number"], first["total"], first["vat"], len(first["lines"])):
    fail(f"the previous release reads this release's order differently: {seen}")
expect(OLD, "POST", f"/api/v1/orders/{first['id']}/cancel", 200, ana_old)
after = expect(NEW, "GET", f"/api/v1/orders/{first['id']}", 200, ana_new)
if after["status"] != "cancelled" or after.get("vat_percent") != 21 or after["total"] != first["total"]:
    fail(f"the order the previous release cancelled reads wrongly here: status {after['status']}, VAT {after.get('vat_percent')}")
ok(f"an order placed through this release ({first['number']}) is read and cancelled through the previous one, and reads back whole")

expect(OLD, "POST", "/api/v1/cart/items", 200, ana_old, {"sku": sku_old, "quantity": 1})
second = expect(OLD, "POST", "/api/v1/orders", 201, ana_old, {"shipping_address": address}, key=str(uuid.uuid4()))
seen = expect(NEW, "GET", f"/api/v1/orders/{second['id']}", 200, ana_new)
if seen.get("vat_percent") != 21 or seen["total"] != second["total"] or seen["number"] != second["number"]:
    fail(f"this release reads the previous release's order wrongly: {seen}")
for status in ("confirmed", "shipped"):
    expect(NEW, "POST", f"/api/v1/admin/orders/{second['id']}/status", 200, admin_new, {"status": status})
if expect(OLD, "GET", f"/api/v1/orders/{second['id']}", 200, ana_old)["status"] != "shipped":
    fail("the previous release does not see the shipment this release recorded")
for base, t in [(NEW, ana_new), (OLD, ana_old)]:
    listed = {o["id"] for o in expect(base, "GET", "/api/v1/orders", 200, t)["items"]}
    if not {first["id"], second["id"]} <= listed:
        fail(f"the {NAMES[base]} lists {listed}, not both orders")
ok(f"an order placed through the previous release ({second['number']}) gets its VAT rate here, is shipped here and seen shipped there; both list both orders")

# stock: both releases took from the same inventory (product pages show it
# eventually: the snapshot follows the inventory within seconds)
for base, admin, made, taken in [(NEW, admin_new, made_old, 1), (OLD, admin_old, made_new, 0)]:
    deadline = time.monotonic() + 15
    while True:
        stock = expect(base, "GET", f"/api/v1/admin/products/{made['id']}", 200, admin)["variants"][0]["stock"]
        if stock == 40 - taken:
            break
        if time.monotonic() > deadline:
            fail(f"the {NAMES[base]} shows stock {stock} for {made['name']}, not {40 - taken}")
        time.sleep(0.2)
ok("stock after orders and a cancellation through both releases adds up on each")

print(f"side-by-side ({STORE}): {passed} passed")
