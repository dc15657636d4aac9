//! MongoDB documents ⇄ [`Record`]s, for moving a shop to or from the
//! embedded store (see `infra::transfer`). Pure functions: a backup's
//! documents are read without a server, and written with `insert_many`.
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use mongodb::bson::{self, doc, Bson, Document};

use super::codec::{as_i64, cart_document, decode_body, decode_cart, decode_order, decode_product, order_document, product_document};
use crate::domain::category::Category;
use crate::domain::outbox::OutboxEntry;
use crate::domain::records::Kind;
use crate::infra::transfer::Record;
use crate::ports::StoreError;

fn text(d: &Document, field: &str) -> Result<String, String> {
    d.get_str(field).map(str::to_string).map_err(|_| format!("no text `{field}`"))
}

fn int(d: &Document, field: &str) -> Result<i64, String> {
    d.get(field).and_then(as_i64).ok_or_else(|| format!("no number `{field}`"))
}

fn time(d: &Document, field: &str) -> Option<DateTime<Utc>> {
    match d.get(field) {
        Some(Bson::DateTime(t)) => Some(t.to_chrono()),
        _ => None,
    }
}

fn date(t: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_chrono(t))
}

fn date_or_null(t: Option<DateTime<Utc>>) -> Bson {
    t.map(date).unwrap_or(Bson::Null)
}

/// `{order id: qty}` of an inventory document.
fn quantities(d: &Document, field: &str) -> BTreeMap<String, i64> {
    d.get_document(field).map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), as_i64(v)?))).collect()).unwrap_or_default()
}

/// The records a document of `collection` holds; `None` for a collection
/// that is not the shop's.
pub fn records_of(collection: &str, d: Document) -> Option<Result<Vec<Record>, String>> {
    let one = |r: Result<Record, String>| Some(r.map(|r| vec![r]));
    match collection {
        "products" => one(decode_product(d).map(Record::Product)),
        "categories" => one((|| Ok(Record::Category(Category { path: text(&d, "_id")?, name: text(&d, "name")? })))()),
        "users" => one(super::accounts::decode_user(d).map(Record::User)),
        "token_families" => one((|| {
            Ok(Record::TokenFamily { id: text(&d, "_id")?, user_id: text(&d, "user_id")?, created_at: time(&d, "created_at").unwrap_or_default(), revoked_at: time(&d, "revoked_at") })
        })()),
        "refresh_tokens" => one(super::accounts::decode_refresh(&d).map_err(|e| e.to_string()).map(|r| Record::RefreshToken {
            token_hash: r.token_hash,
            family_id: r.family_id,
            user_id: r.user_id,
            expires_at: r.expires_at,
            used_at: time(&d, "used_at"),
        })),
        "kv" => one((|| {
            Ok(Record::Value { ns: text(&d, "ns")?, key: text(&d, "key")?, value: super::accounts::kv_value(&d).map_err(|e| e.to_string())?, expires_at: time(&d, "expires_at") })
        })()),
        "inventory" => one((|| {
            Ok(Record::Stock { sku: text(&d, "_id")?, product_id: text(&d, "product_id")?, stock: int(&d, "stock")?, holds: quantities(&d, "holds"), returns: quantities(&d, "returns") })
        })()),
        "carts" => one(decode_cart(d).map(Record::Cart)),
        "orders" => Some((|| {
            // announcements a writer left on the order (see `outbox.rs`) move as outbox entries
            let leftovers: Vec<OutboxEntry> = match d.get_str("outbox") {
                Ok(json) => serde_json::from_str(json).map_err(|e| format!("unreadable outbox on the order: {e}"))?,
                Err(_) => Vec::new(),
            };
            let mut out = vec![Record::Order(decode_order(d)?)];
            out.extend(leftovers.into_iter().map(Record::Outbox));
            Ok(out)
        })()),
        "ordered_products" => one(text(&d, "_id").map(|product_id| Record::Ordered { product_id })),
        "counters" => one((|| Ok(Record::Counter { name: text(&d, "_id")?, n: int(&d, "n")? }))()),
        "audit" => one(super::audit::decode_entry(d).map(Record::Audit)),
        "outbox" => one(super::outbox::decode_entry(d).map(Record::Outbox)),
        "webhook_endpoints" => one(decode_body(d, Kind::WebhookEndpoint).map(Record::Endpoint)),
        "complements" => one((|| {
            let items = bson::deserialize_from_bson(d.get("items").cloned().unwrap_or(Bson::Array(Vec::new()))).map_err(|e| e.to_string())?;
            Ok(Record::Complements { product_id: text(&d, "_id")?, built_ms: int(&d, "built_ms")?, items })
        })()),
        "recommend_settings" => one(decode_body(d, Kind::RecommendSettings).map(Record::RecommendSettings)),
        "promotions" => one(super::promotions::decode(d).map_err(|e| e.to_string()).map(Record::Promotion)),
        "promotion_counts" => one((|| Ok(Record::PromotionCount { key: text(&d, "_id")?, used: int(&d, "used")? }))()),
        "promotion_redemptions" => one((|| {
            Ok(Record::Redemption {
                order_id: text(&d, "order_id")?,
                promotion_id: text(&d, "promotion_id")?,
                customer: text(&d, "customer")?,
                total_cents: int(&d, "total_cents")?,
                discount_cents: int(&d, "discount_cents")?,
                counted: d.get_array("counted").map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default(),
                released: d.get_bool("released").unwrap_or(false),
            })
        })()),
        _ => None,
    }
}

/// The collection and stored document of a record, with the query fields
/// the adapter's own writes keep.
pub fn document_of(record: &Record) -> Result<(&'static str, Document), StoreError> {
    let bad = |e: String| StoreError::Other(e);
    let d = match record {
        Record::Product(p) => product_document(p)?,
        Record::Category(c) => doc! { "_id": c.path.as_str(), "name": c.name.as_str() },
        Record::User(u) => super::accounts::user_document(u)?,
        Record::TokenFamily { id, user_id, created_at, revoked_at } => {
            doc! { "_id": id.as_str(), "user_id": user_id.as_str(), "created_at": date(*created_at), "revoked_at": date_or_null(*revoked_at) }
        }
        Record::RefreshToken { token_hash, family_id, user_id, expires_at, used_at } => doc! {
            "_id": token_hash.as_str(),
            "family_id": family_id.as_str(),
            "user_id": user_id.as_str(),
            "expires_at": date(*expires_at),
            "expires": expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "used_at": date_or_null(*used_at),
        },
        Record::Value { ns, key, value, expires_at } => super::accounts::kv_document(&super::accounts::kv_id(ns, key), ns, key, value, *expires_at),
        Record::Stock { sku, product_id, stock, holds, returns } => {
            let map = |m: &BTreeMap<String, i64>| m.iter().map(|(k, v)| (k.clone(), Bson::Int64(*v))).collect::<Document>();
            doc! { "_id": sku.as_str(), "product_id": product_id.as_str(), "stock": *stock, "holds": map(holds), "returns": map(returns) }
        }
        Record::Cart(c) => cart_document(c)?,
        Record::Order(o) => order_document(o)?,
        Record::Ordered { product_id } => doc! { "_id": product_id.as_str(), "at": bson::DateTime::now() },
        Record::Counter { name, n } => doc! { "_id": name.as_str(), "n": *n },
        Record::Audit(e) => super::audit::audit_document(e)?,
        Record::Outbox(e) => super::outbox::entry_document(e)?,
        Record::Endpoint(e) => {
            doc! { "_id": e.id.as_str(), "created_ms": e.created_at.timestamp_millis(), "doc": crate::infra::records::to_bson(e).map_err(bad)? }
        }
        Record::Complements { product_id, built_ms, items } => {
            doc! { "_id": product_id.as_str(), "built_ms": *built_ms, "items": bson::serialize_to_bson(items).map_err(|e| bad(e.to_string()))? }
        }
        Record::RecommendSettings(s) => doc! { "_id": s.product_id.as_str(), "doc": crate::infra::records::to_bson(s).map_err(bad)? },
        Record::Promotion(p) => super::promotions::encode(p)?,
        Record::PromotionCount { key, used } => doc! { "_id": key.as_str(), "used": *used },
        Record::Redemption { order_id, promotion_id, customer, total_cents, discount_cents, counted, released } => doc! {
            "_id": format!("{order_id} {promotion_id}"),
            "order_id": order_id.as_str(),
            "promotion_id": promotion_id.as_str(),
            "customer": customer.as_str(),
            "total_cents": *total_cents,
            "discount_cents": *discount_cents,
            "counted": counted.iter().map(|k| Bson::String(k.clone())).collect::<Vec<_>>(),
            "released": *released,
        },
    };
    Ok((record.table(), d))
}
