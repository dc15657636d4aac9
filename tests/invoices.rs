//! Selling legally in Romania, end to end through the API: invoices when
//! the money is in (or a cash-on-delivery order ships), credit notes for
//! refunds and returns, every document checked by the official EN 16931 +
//! CIUS-RO rules (run by the ANAF stand-in), gapless numbers across two
//! instances, e-Factura accepted and refused, the VAT register.
mod common;

use std::sync::Arc;

use common::{call, fatal_failures, spawn_app_with, with_anaf, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use vitrina::domain::user::Role;
use vitrina::ports::InventoryStore;


const IBAN: &str = "RO49AAAA1B31007593840000";

/// Two products: one at 21 % and one at 11 % (a book), plenty in stock. Returns their SKUs.
async fn two_rates(app: &TestApp) -> (String, String) {
    let mut a = vitrina::services::demo::demo_product(900_001);
    a.variants.truncate(1);
    a.variants[0].stock = 500;
    a.vat_rate = 21;
    let mut b = vitrina::services::demo::demo_product(900_002);
    b.variants.truncate(1);
    b.variants[0].stock = 500;
    b.vat_rate = 11;
    let skus = (a.variants[0].sku.clone(), b.variants[0].sku.clone());
    app.backends.catalog.upsert_products(&[a, b]).await.unwrap();
    skus
}

async fn shop() -> Option<(TestApp, String, String, String)> {
    let anaf = common::anaf_url()?;
    let app = spawn_app_with(0, |c| {
        with_anaf(c, &anaf);
        c.payments.bank_account = Some(vitrina::domain::payment::BankAccount { iban: IBAN.into(), beneficiary: "Vitrina Demo SRL".into(), bank: "Banca Transilvania".into() });
        // retries at once: the stand-in answers "in prelucrare" once before it decides
        c.notify.retry = vitrina::domain::outbox::RetrySchedule::parse("0,0,0,1,1,1,1,1").unwrap();
    })
    .await;
    let admin = app.token_for(&format!("{}@admin.test", common::unique_name("a")), Role::Admin).await;
    let (a, b) = two_rates(&app).await;
    Some((app, admin, a, b))
}

fn cluj() -> Value {
    json!({"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "phone": "0712345678", "county": "RO-CJ"})
}

/// Places an order: a shopper's `items` go through their cart first (shoppers order their cart).
async fn order(app: &TestApp, token: &str, mut body: Value) -> Value {
    let (_, me) = call(app, Method::GET, "/api/v1/me", token, None, None).await;
    if me["role"] == "customer" {
        for item in body["items"].as_array().cloned().unwrap_or_default() {
            let (status, cart) = call(app, Method::POST, "/api/v1/cart/items", token, Some(item), None).await;
            assert_eq!(status, 200, "{cart}");
        }
        body.as_object_mut().unwrap().remove("items");
    }
    let (status, o) = common::call(app, Method::POST, "/api/v1/orders", token, Some(body), Some(&uuid::Uuid::new_v4().to_string())).await;
    assert_eq!(status, 201, "{o}");
    o
}

async fn documents(app: &TestApp, admin: &str, order_id: &str) -> Vec<Value> {
    let (status, list) = call(app, Method::GET, &format!("/api/v1/admin/orders/{order_id}/documents"), admin, None, None).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn file(app: &TestApp, token: &str, url: &str) -> (u16, Vec<u8>, String) {
    let res = app.client.get(format!("{}{url}", app.base)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_string()).unwrap_or_default();
    (status, res.bytes().await.unwrap().to_vec(), ctype)
}

/// The text of the first element named `tag` (`cbc:TaxInclusiveAmount`).
fn element(xml: &str, tag: &str) -> Option<String> {
    let open = xml.find(&format!("<{tag}"))?;
    let start = open + xml[open..].find('>')? + 1;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_string())
}

fn cents(amount: &str) -> i64 {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    whole.parse::<i64>().unwrap() * 100 + format!("{frac:0<2}")[..2].parse::<i64>().unwrap()
}

/// The document's XML: it passes the official rules, and its totals are the order's.
async fn check_invoice(app: &TestApp, admin: &str, doc: &Value, order: &Value) -> String {
    let (status, xml, ctype) = file(app, admin, doc["xml"].as_str().unwrap()).await;
    assert_eq!((status, ctype.starts_with("application/xml")), (200, true));
    let fatal = fatal_failures(&xml).await;
    assert!(fatal.is_empty(), "{} fails the official rules: {fatal:?}", doc["number"]);
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(cents(&element(&xml, "cbc:TaxInclusiveAmount").unwrap()), order["total"]["amount"].as_i64().unwrap(), "the invoice's total is the order's");
    assert_eq!(doc["total_cents"], order["total"]["amount"]);
    let (status, pdf, ctype) = file(app, admin, doc["pdf"].as_str().unwrap()).await;
    assert_eq!((status, ctype.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    xml
}

/// One VAT subtotal per rate.
fn rates(xml: &str) -> Vec<String> {
    let totals = &xml[xml.find("<cac:TaxTotal>").unwrap()..];
    totals.split("<cac:TaxSubtotal>").skip(1).map(|s| element(s, "cbc:Percent").unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_transfers_and_shipped_cash_orders_are_invoiced_by_the_official_rules() {
    let Some((app, admin, a, b)) = shop().await else { return };
    let (status, promo) = call(&app, Method::POST, "/api/v1/admin/promotions", &admin, Some(json!({"name": "Ten", "code": "ZECE", "kind": "percent", "value": 10})), None).await;
    assert_eq!(status, 201, "{promo}");
    let buyer = app.token_for("ana@invoices.test", Role::Customer).await;
    // a person, mixed rates, a discount, shipping: paid by bank transfer, marked paid by an admin
    let items = json!([{"sku": a, "quantity": 1}, {"sku": b, "quantity": 2}]);
    let transfer = order(&app, &buyer, json!({"shipping_address": cluj(), "items": items, "payment_method": "bank_transfer", "coupon": "ZECE"})).await;
    let id = transfer["id"].as_str().unwrap();
    assert!(transfer["discount_cents"].as_i64().unwrap() > 0, "the coupon took something off");
    assert!(documents(&app, &admin, id).await.is_empty(), "no invoice before the money is in");
    let (status, paid) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None, None).await;
    assert_eq!(status, 200, "{paid}");
    let docs = documents(&app, &admin, id).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "invoice");
    let xml = check_invoice(&app, &admin, &docs[0], &paid).await;
    let mut r = rates(&xml);
    r.sort();
    assert_eq!(r, vec!["11", "21"], "one VAT subtotal per rate");
    assert!(xml.contains("0000000000000"), "a person without a CNP: 13 zeros");
    // the owner sees it too; someone else does not
    let (status, mine) = call(&app, Method::GET, &format!("/api/v1/orders/{id}/documents"), &buyer, None, None).await;
    assert_eq!((status, mine["items"][0]["number"].clone()), (200, docs[0]["number"].clone()));
    let other = app.token_for("ion@invoices.test", Role::Customer).await;
    assert_eq!(file(&app, &other, docs[0]["pdf"].as_str().unwrap()).await.0, 404);
    assert_eq!(file(&app, "", docs[0]["pdf"].as_str().unwrap()).await.0, 404);
    // the buyer gets the PDF by mail
    let number = docs[0]["number"].as_str().unwrap().to_string();
    let mail_dir = app._dir.path().join("mail");
    let mail = common::eventually(20, || {
        let (dir, number) = (mail_dir.clone(), number.clone());
        let state = app.state.clone();
        async move {
            let _ = state.notify.run_once().await;
            std::fs::read_dir(&dir).ok()?.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).find(|m| m.contains(&format!("filename=\"{number}.pdf\"")) || m.contains(&format!("filename={number}.pdf")))
        }
    })
    .await
    .expect("a mail with the invoice's PDF attached");
    assert!(mail.contains("ana@invoices.test") && mail.contains("application/pdf"), "to the buyer, a PDF");
    // cash on delivery: invoiced when it ships
    let cod = order(&app, &buyer, json!({"shipping_address": cluj(), "items": [{"sku": a, "quantity": 2}], "payment_method": "cod"})).await;
    let cid = cod["id"].as_str().unwrap();
    for status in ["confirmed", "shipped"] {
        assert!(documents(&app, &admin, cid).await.is_empty(), "not invoiced before it ships");
        let (s, body) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{cid}/status"), &admin, Some(json!({"status": status})), None).await;
        assert_eq!(s, 200, "{body}");
    }
    let docs = documents(&app, &admin, cid).await;
    assert_eq!(docs.len(), 1);
    let xml = check_invoice(&app, &admin, &docs[0], &cod).await;
    assert_eq!(element(&xml, "cbc:PaymentMeansCode").as_deref(), Some("10"), "cash");
    assert_eq!(rates(&xml), vec!["21"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vat_registered_company_in_bucharest_sector_3_and_a_partial_refund() {
    let Some((app, admin, a, b)) = shop().await else { return };
    let buyer = app.token_for("achizitii@firma.test", Role::Partner).await;
    // the VAT register fills the company in
    let (status, company) = call(&app, Method::GET, "/api/v1/companies/RO18547290", "", None, None).await;
    assert_eq!(status, 200, "{company}");
    assert_eq!((company["address"]["county"].as_str(), company["address"]["sector"].as_u64(), company["vat_payer"].as_bool()), (Some("RO-B"), Some(3), Some(true)));
    let billing = json!({"type": "company", "company_name": company["name"], "cui": "RO18547290", "vat_payer": true, "reg_com": company["reg_com"], "address": company["address"]});
    let items = json!([{"sku": a, "quantity": 3}, {"sku": b, "quantity": 1}]);
    let o = order(&app, &buyer, json!({"shipping_address": cluj(), "items": items, "payment_method": "bank_transfer", "billing": billing})).await;
    let id = o["id"].as_str().unwrap();
    let (status, paid) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None, None).await;
    assert_eq!(status, 200);
    let invoice = documents(&app, &admin, id).await.remove(0);
    let xml = check_invoice(&app, &admin, &invoice, &paid).await;
    assert!(xml.contains("<cbc:CompanyID>RO18547290</cbc:CompanyID>"), "a VAT payer by RO + CUI");
    assert!(xml.contains("<cbc:CityName>SECTOR3</cbc:CityName>") && xml.contains("<cbc:CountrySubentity>RO-B</cbc:CountrySubentity>"), "Bucharest by its sector");
    // a partial refund: a credit note (381) correcting that invoice
    let (status, refunded) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/refunds"), &admin, Some(json!({"amount_cents": 1234, "reason": "scratched box"})), None).await;
    assert_eq!(status, 200, "{refunded}");
    let docs = documents(&app, &admin, id).await;
    assert_eq!(docs.len(), 2);
    let credit = &docs[1];
    assert_eq!((credit["kind"].as_str(), credit["corrects"].clone(), credit["total_cents"].as_i64()), (Some("credit_note"), invoice["number"].clone(), Some(1234)));
    let (_, cn, _) = file(&app, &admin, credit["xml"].as_str().unwrap()).await;
    assert!(fatal_failures(&cn).await.is_empty(), "the credit note passes the official rules");
    let cn = String::from_utf8(cn).unwrap();
    assert!(cn.contains("<CreditNote") && cn.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"));
    assert!(cn.contains(&format!("<cac:InvoiceDocumentReference><cbc:ID>{}</cbc:ID>", invoice["number"].as_str().unwrap())), "it references the invoice");
    assert_eq!(cents(&element(&cn, "cbc:TaxInclusiveAmount").unwrap()), 1234);
    let n = |d: &Value| d["number"].as_str().unwrap()[3..].parse::<u64>().unwrap();
    assert_eq!(n(credit), n(&invoice) + 1, "the same gapless series");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_received_and_refunded_puts_the_stock_back_with_a_credit_note() {
    let Some((app, admin, a, b)) = shop().await else { return };
    let buyer = app.token_for("maria@returns.test", Role::Customer).await;
    let o = order(&app, &buyer, json!({"shipping_address": cluj(), "items": [{"sku": a, "quantity": 1}, {"sku": b, "quantity": 3}], "payment_method": "cod"})).await;
    let id = o["id"].as_str().unwrap();
    let path = format!("/api/v1/orders/{id}/returns");
    let ask = json!({"lines": [{"sku": b, "quantity": 2}], "reason": "not what I expected"});
    let (status, early) = call(&app, Method::POST, &path, &buyer, Some(ask.clone()), None).await;
    assert_eq!((status, early["errors"][0]["field"].as_str()), (422, Some("order")), "not before it ships: {early}");
    for s in ["confirmed", "shipped", "delivered"] {
        assert_eq!(call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/status"), &admin, Some(json!({"status": s})), None).await.0, 200);
    }
    let (status, too_many) = call(&app, Method::POST, &path, &buyer, Some(json!({"lines": [{"sku": b, "quantity": 4}]})), None).await;
    assert_eq!((status, too_many["errors"][0]["field"].as_str()), (422, Some("lines[0].quantity")));
    let (status, asked) = call(&app, Method::POST, &path, &buyer, Some(ask), None).await;
    assert_eq!(status, 200, "{asked}");
    let rid = asked["returns"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(asked["returns"][0]["status"], "requested");
    let (_, open) = call(&app, Method::GET, "/api/v1/admin/returns", &admin, None, None).await;
    assert!(open.as_array().unwrap().iter().any(|r| r["order_id"] == id && r["return"]["refund_due"].is_string()), "the panel lists it with its refund deadline: {open}");
    let inventory: Arc<dyn InventoryStore> = app.backends.inventory.clone();
    let level = |inv: Arc<dyn InventoryStore>, sku: String| async move { inv.stock_levels(&[sku.clone()]).await.unwrap()[&sku] };
    let left = level(inventory.clone(), b.clone()).await;
    let admin_path = |step: &str| format!("/api/v1/admin/orders/{id}/returns/{rid}/{step}");
    assert_eq!(call(&app, Method::POST, &admin_path("approve"), &admin, None, None).await.0, 200);
    let (status, received) = call(&app, Method::POST, &admin_path("receive"), &admin, Some(json!({"lines": [{"sku": b, "quantity": 2, "condition": "sealed"}]})), None).await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(level(inventory.clone(), b.clone()).await, left + 2, "the units are back in stock");
    // cash on delivery: the money goes to an IBAN
    let (status, no_iban) = call(&app, Method::POST, &admin_path("refund"), &admin, Some(json!({})), None).await;
    assert_eq!((status, no_iban["errors"][0]["field"].as_str()), (422, Some("iban")));
    let (status, refunded) = call(&app, Method::POST, &admin_path("refund"), &admin, Some(json!({"iban": "RO49 AAAA 1B31 0075 9384 0000"})), None).await;
    assert_eq!(status, 200, "{refunded}");
    let r = &refunded["returns"][0];
    assert_eq!(r["status"], "refunded");
    let docs = documents(&app, &admin, id).await;
    let credit = docs.iter().find(|d| d["kind"] == "credit_note").expect("a credit note");
    assert_eq!(credit["total_cents"], r["refund_cents"]);
    let (_, cn, _) = file(&app, &admin, credit["xml"].as_str().unwrap()).await;
    assert!(fatal_failures(&cn).await.is_empty());
    let cn = String::from_utf8(cn).unwrap();
    assert!(cn.contains("<cbc:CreditedQuantity unitCode=\"H87\">2</cbc:CreditedQuantity>"), "it credits the 2 units returned: {cn}");
    // a second receipt of the same return cannot put stock back twice
    assert_eq!(call(&app, Method::POST, &admin_path("receive"), &admin, Some(json!({"lines": [{"sku": b, "quantity": 2}]})), None).await.0, 422);
    assert_eq!(level(inventory, b.clone()).await, left + 2);
    // the shopper was told, and partners hear of it
    let entries = app.state.notify.entries(&vitrina::ports::OutboxFilter::default(), 1, 100).await.unwrap().items;
    for kind in ["order.return_requested", "order.return_received", "order.refunded"] {
        assert!(entries.iter().any(|e| e.topic == kind && e.id.contains(id)), "{kind} announced");
    }
}
