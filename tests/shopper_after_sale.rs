//! The shopper's side of invoicing and returns, through the browser's form
//! posts (no JavaScript): the checkout's county, sector and company fields,
//! an order's documents and returns, the withdrawal form, the footer.
#![cfg(feature = "ssr")]
mod common;

use common::{spawn_app, TestApp};
use vitrina::domain::order::OrderStatus;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).find(|c| c.starts_with("vitrina_session=")).map(|c| c.split(';').next().unwrap().to_string())
}

async fn page(app: &TestApp, path: &str) -> String {
    page_as(app, path, "").await
}

async fn page_as(app: &TestApp, path: &str, cookie: &str) -> String {
    let res = browser().get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// A guest's cart with 2 of an in-stock SKU: the session cookie and the SKU.
async fn guest_cart(app: &TestApp) -> (String, String) {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=10").await;
    let slug = list["items"][0]["slug"].as_str().unwrap().to_string();
    let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    let sku = p["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() > 3).expect("a variant with stock")["sku"].as_str().unwrap().to_string();
    let res = browser().post(format!("{}/cart/add", app.base)).form(&[("sku", sku.as_str()), ("quantity", "2"), ("back", "/cart")]).send().await.unwrap();
    (session_cookie(&res).expect("a guest session"), sku)
}

async fn checkout(app: &TestApp, cookie: &str, extra: &[(&str, &str)]) -> String {
    let mut form = vec![
        ("email", "Retur@Example.com"), ("name", "Ana Popescu"), ("street", "Strada Lungă 5"), ("postal_code", "010101"), ("city", "București"),
        ("country", "RO"), ("phone", "+40 721 000 000"), ("shipping_method", "standard"), ("idempotency_key", "k-after-sale"),
    ];
    form.extend_from_slice(extra);
    let res = browser().post(format!("{}/checkout", app.base)).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    location(&res)
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> String {
    let res = browser().post(format!("{}{path}", app.base)).form(form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{path}");
    location(&res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_orders_with_a_county_returns_a_unit_and_withdraws_by_the_form() {
    let app = spawn_app(20).await;
    let (cookie, sku) = guest_cart(&app).await;

    // the checkout: the counties by name, Bucharest's sectors, billing to a company
    let res = browser().get(format!("{}/checkout", app.base)).header("cookie", &cookie).send().await.unwrap();
    let html = res.text().await.unwrap();
    for part in ["name=\"county\"", "value=\"RO-CJ\"", "Bistrița-Năsăud", "name=\"sector\"", "name=\"billing_type\"", "name=\"cui\"", "name=\"company_name\"", "name=\"reg_com\"", "Completează din ANAF"] {
        assert!(html.contains(part), "the checkout has {part}");
    }
    // each refusal next to its field, what was typed kept
    let back = checkout(&app, &cookie, &[("county", "RO-B"), ("billing_type", "company"), ("cui", "14399841")]).await;
    assert!(back.starts_with("/checkout?"), "{back}");
    for field in ["err.sector=", "err.cui=", "err.company_name="] {
        assert!(back.contains(field), "{field} in {back}");
    }
    let html = page_as(&app, &back, &cookie).await;
    assert!(html.contains("alege sectorul") && html.contains("verifică cifrele") && html.contains("scrie numele firmei"), "the messages are next to the fields");
    assert!(html.contains("value=\"14399841\""), "the CUI typed is kept");
    let back = checkout(&app, &cookie, &[]).await;
    assert!(back.contains("err.county="), "{back}");

    // placed, billed to a company
    let link = checkout(&app, &cookie, &[("county", "RO-B"), ("sector", "1"), ("billing_type", "company"), ("company_name", "Vitrina Test SRL"), ("cui", "RO14399840")]).await;
    assert!(link.starts_with("/orders/o_"), "{link}");
    let (path, query) = link.split_once('?').unwrap();
    let token = query.split('&').find_map(|kv| kv.strip_prefix("token=")).unwrap().to_string();
    let order_id = path.trim_start_matches("/orders/").to_string();
    let here = format!("{path}?token={token}");
    let order = app.state.orders.guest_order(&order_id, &token).await.unwrap();
    assert_eq!(order.billing.as_ref().map(|b| (b.cui.as_str(), b.vat_payer)), Some(("14399840", true)));

    // before it ships: no documents yet, no returns yet (and why)
    let html = page(&app, &here).await;
    assert!(html.contains("data-testid=\"documents-empty\""), "the documents' empty state");
    assert!(html.contains("București, Sector 1"), "the county on the address");
    assert!(html.contains("Returul e posibil după ce comanda pleacă"), "why it cannot be returned yet");
    assert!(!html.contains("action=\"/orders/return\""));

    for s in [OrderStatus::Confirmed, OrderStatus::Shipped, OrderStatus::Delivered] {
        app.state.orders.transition(&order_id, s).await.unwrap();
    }
    // cash on delivery: the invoice once it ships, its PDF through the guest's link
    let html = common::eventually(20, || async {
        let html = page(&app, &here).await;
        html.contains(&format!(".pdf?token={token}")).then_some(html)
    })
    .await
    .expect("the invoice is listed with its PDF");
    assert!(html.contains("Factură"), "the document's kind");
    assert!(html.contains("action=\"/orders/return\"") && html.contains(&format!("name=\"qty_{sku}\"")) && html.contains("name=\"iban\""), "the return form, with an IBAN for cash on delivery");

    // refusals come back next to their fields, on the form's anchor
    let qty = format!("qty_{sku}");
    let back = post_form(&app, "/orders/return", &[("order_id", &order_id), ("token", &token), (&qty, "3"), ("reason", "prea mic")]).await;
    assert!(back.ends_with("#returns"), "{back}");
    assert!(back.contains(&format!("err.{qty}=")) && back.contains("err.iban=") && back.contains("reason=prea+mic") && back.contains("token="), "{back}");
    let html = page(&app, back.trim_end_matches("#returns")).await;
    assert!(html.contains("id=\"f-return-qty-0-error\"") && html.contains("scrie IBAN-ul"), "the messages next to the fields");
    let back = post_form(&app, "/orders/return", &[("order_id", &order_id), ("token", &token), ("iban", "RO49 AAAA 1B31 0075 9384 0000")]).await;
    assert!(back.contains("err.lines="), "nothing chosen: {back}");

    // asked: the page shows it and when the money comes back
    let done = post_form(&app, "/orders/return", &[("order_id", &order_id), ("token", &token), (&qty, "1"), ("reason", "prea mic"), ("iban", "RO49 AAAA 1B31 0075 9384 0000")]).await;
    assert!(done.contains("notice=return-requested") && done.contains("token="), "{done}");
    let html = page(&app, &done).await;
    assert!(html.contains("Am primit cererea de retur") && html.contains("data-testid=\"return-item\"") && html.contains("Banii îți revin până la"), "the return on the page");
    let order = app.state.orders.guest_order(&order_id, &token).await.unwrap();
    assert_eq!((order.returns.len(), order.returns[0].iban.as_deref()), (1, Some("RO49AAAA1B31007593840000")));
    // someone without the link gets nothing
    let res = browser().post(format!("{}/orders/return", app.base)).form(&[("order_id", order_id.as_str()), ("token", "forged"), (qty.as_str(), "1")]).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(post_form(&app, "/orders/return", &[("order_id", &order_id), (&qty, "1")]).await.starts_with("/login?next="));

    // the withdrawal form: the seller named, the fields checked, the same answer for any order
    let html = page(&app, "/withdrawal").await;
    assert!(html.contains("Vitrina Demo SRL") && html.contains("Vă informez prin prezenta"), "the model form, addressed to the seller");
    let back = post_form(&app, "/withdrawal", &[("number", ""), ("email", "nope")]).await;
    assert!(back.contains("err.number=") && back.contains("err.email="), "{back}");
    let unknown = post_form(&app, "/withdrawal", &[("number", "VT-999999"), ("email", "nobody@example.com")]).await;
    let known = post_form(&app, "/withdrawal", &[("number", &order.number.to_lowercase()), ("email", "retur@example.com"), ("message", "m-am răzgândit")]).await;
    assert_eq!(unknown.replace("999999", "N"), known.replace(&order.number[3..], "N"), "the answer does not tell which orders exist");
    let html = page(&app, &known).await;
    assert!(html.contains(&format!("Dacă o comandă {}", order.number)), "the neutral answer");
    let withdrawn = common::eventually(10, || async {
        let o = app.state.orders.guest_order(&order_id, &token).await.unwrap();
        (o.returns.len() == 2).then_some(o)
    })
    .await
    .expect("the withdrawal asked to return what was left");
    assert_eq!(withdrawn.returns[1].lines[0].quantity, 1);
    assert!(withdrawn.returns[1].reason.contains("m-am răzgândit"));

    // the footer: the seller's identity and the consumer's links, on every page
    let html = page(&app, "/en/products").await;
    assert!(html.contains("data-testid=\"footer-seller\"") && html.contains("RO14399840") && html.contains("J12/1234/2020"), "the seller in the footer");
    assert!(html.contains("href=\"/en/withdrawal\"") && html.contains("https://anpc.ro/ce-este-sal/"), "the withdrawal form and ANPC's SAL");
}
