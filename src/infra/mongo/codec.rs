//! Stored documents ⇄ domain values. Every entity keeps its serialized
//! form under `doc`, next to the denormalized fields its queries and indexes
//! use; numbers are read leniently (servers send int32, int64 or double).
use std::collections::BTreeSet;

use mongodb::bson::{self, doc, Bson, Document};
use mongodb::Collection;

use super::map_error;
use crate::domain::order::{Cart, Order};
use crate::domain::product::Product;
use crate::domain::records::Kind;
use crate::infra::records::{from_bson, to_bson};
use crate::ports::StoreError;

/// The stored form of a product: the domain value under `doc` plus the
/// denormalized fields queries and indexes use, and a fresh `rev` (the
/// guard of `sync_stock_snapshot`).
pub(super) fn product_document(p: &Product) -> Result<Document, StoreError> {
    let body = to_bson(p).map_err(|e| StoreError::Other(format!("cannot encode product {:?}: {e}", p.id)))?;
    let mut d = doc! {
        "_id": p.id.clone(),
        "slug": p.slug.clone(),
        "status": p.status.as_str(),
        "category": p.category.clone(),
        "category_paths": str_array(p.category_paths().iter().map(String::as_str)),
        "min_price": p.min_price().amount,
        "in_stock": p.in_stock(),
        "popularity": p.popularity,
        "created_ts": p.created_at.timestamp_millis(),
        "facet_tokens": str_array(p.facet_tokens().iter().map(String::as_str)),
        "search_tokens": str_array(p.search_tokens().iter().map(String::as_str)),
        "rev": bson::oid::ObjectId::new().to_hex(),
        // when it was written: search indexes follow the changes
        "changed_ms": chrono::Utc::now().timestamp_millis(),
    };
    // Left out when empty: the unique sparse index then skips the product.
    let skus: BTreeSet<&str> = skus_of(p).collect();
    if !skus.is_empty() {
        d.insert("skus", str_array(skus.into_iter()));
    }
    d.insert("doc", body);
    Ok(d)
}

pub(super) fn decode_product(d: Document) -> Result<Product, String> {
    decode_body(d, Kind::Product)
}

/// One entity by filter, decoded from its `doc` field.
pub(super) async fn find_body<T: serde::de::DeserializeOwned>(coll: &Collection<Document>, filter: Document, kind: Kind) -> Result<Option<T>, StoreError> {
    let found = coll.find_one(filter).projection(doc! { "doc": 1 }).await.map_err(|e| map_error(&format!("read {}", kind.name()), e))?;
    found.map(|d| decode_body(d, kind)).transpose().map_err(StoreError::Other)
}

/// Every stored entity keeps its serialized form under `doc`, next to the
/// fields its queries use; one an earlier release wrote is migrated first.
pub(super) fn decode_body<T: serde::de::DeserializeOwned>(mut d: Document, kind: Kind) -> Result<T, String> {
    match d.remove("doc") {
        Some(Bson::Document(mut body)) => {
            booleans_as_written(kind, &mut body);
            from_bson(kind, body)
        }
        _ => Err(format!("{} document has no `doc` field", kind.name())),
    }
}

/// The flags a field write sets (`$set` of `doc.disabled`…): nx-27017, the
/// test server, stores a boolean set at a path as 0 or 1 (MongoDB keeps it a
/// boolean). Read back as the booleans they were.
fn booleans_as_written(kind: Kind, body: &mut Document) {
    let flags: &[&str] = match kind {
        Kind::User => &["disabled"],
        Kind::WebhookEndpoint => &["enabled"],
        Kind::Promotion => &["active"],
        _ => &[],
    };
    for flag in flags {
        let as_bool = match body.get(*flag) {
            Some(Bson::Int32(n)) => Some(*n != 0),
            Some(Bson::Int64(n)) => Some(*n != 0),
            _ => None,
        };
        if let Some(b) = as_bool {
            body.insert(*flag, b);
        }
    }
}

pub(super) fn skus_of(p: &Product) -> impl Iterator<Item = &str> + '_ {
    p.variants.iter().map(|v| v.sku.as_str()).filter(|s| !s.is_empty())
}

pub(super) fn str_array<'a>(values: impl Iterator<Item = &'a str>) -> Bson {
    Bson::Array(values.map(|s| Bson::String(s.to_string())).collect())
}

/// The stored form of an order: the domain value under `doc` plus the
/// fields queries and indexes use. `idem` is absent without a key (the
/// partial unique index then skips the order).
pub(super) fn order_document(order: &Order) -> Result<Document, StoreError> {
    let body = to_bson(order).map_err(|e| StoreError::Other(format!("cannot encode order {:?}: {e}", order.id)))?;
    let mut d = doc! {
        "_id": order.id.as_str(),
        "number": order.number.as_str(),
        "user_id": order.user_id.as_str(),
        "status": order.status.as_str(),
        "created_ts": order.created_at.timestamp_millis(),
        "created_at": bson::DateTime::from_chrono(order.created_at),
        // what the recommendation job reads, at the top level (a projection reads only these)
        "basket": crate::infra::baskets::basket_fields(order),
    };
    if let Some(key) = &order.idempotency_key {
        d.insert("idem", key.as_str());
    }
    d.insert("doc", body);
    Ok(d)
}

pub(super) fn decode_order(d: Document) -> Result<Order, String> {
    decode_body(d, Kind::Order)
}

pub(super) fn cart_document(cart: &Cart) -> Result<Document, StoreError> {
    let body = to_bson(cart).map_err(|e| StoreError::Other(format!("cannot encode cart {:?}: {e}", cart.owner)))?;
    Ok(doc! {
        "_id": cart.owner.as_str(),
        "version": cart.version,
        "updated_at": bson::DateTime::from_chrono(cart.updated_at),
        "doc": body,
    })
}

pub(super) fn decode_cart(d: Document) -> Result<Cart, String> {
    decode_body(d, Kind::Cart)
}

/// A count as servers send it: int32, int64 or double.
pub(super) fn as_count(b: &Bson) -> Option<u64> {
    match b {
        Bson::Int32(n) => u64::try_from(*n).ok(),
        Bson::Int64(n) => u64::try_from(*n).ok(),
        Bson::Double(f) if f.is_finite() && *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

/// An integer as servers send it: int32, int64, or a whole double.
pub(super) fn as_i64(b: &Bson) -> Option<i64> {
    match b {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Money;
    use crate::domain::order::{Address, CartLine, OrderLine, OrderStatus, ShippingMethod, StatusChange};
    use chrono::{TimeZone, Utc};

    fn order(key: Option<&str>) -> Order {
        let at = Utc.timestamp_nanos(1_800_000_000_123_456_789);
        Order { discount_cents: 0, coupon: None, discounts: vec![],
            id: "o_0123456789abcdef0123456789abcdef".into(),
            number: "VT-000042".into(),
            user_id: "u1".into(),
            lines: vec![OrderLine { discount_cents: 0, vat_rate: None,
                sku: "AC-1".into(),
                product_id: "p1".into(),
                slug: "acme-tee".into(),
                name: "Acme Tee".into(),
                options: [("size".to_string(), "M".to_string())].into(),
                unit_price: Money::shop(1999),
                quantity: 2,
                line_total: Money::shop(3998),
            }],
            currency: crate::domain::money::shop_currency().into(),
            subtotal: Money::shop(3998),
            shipping: Money::shop(499),
            shipping_method: ShippingMethod::Standard,
            vat: Money::shop(718),
            vat_percent: 21,
            total: Money::shop(4497),
            shipping_address: Address {
                name: "Ana".into(),
                street: "Str. Lunga 1".into(),
                city: "Cluj".into(),
                postal_code: "400001".into(),
                country: "RO".into(),
                phone: "+40 712 345 678".into(),
                county: "RO-CJ".into(),
                sector: None,
            },
            billing: None,
            payment_method: "cod".into(),
            payment: crate::domain::payment::Payment::new(crate::domain::payment::PaymentMethod::Cod, &Money::shop(4497)),
            status: OrderStatus::Placed,
            history: vec![StatusChange { status: OrderStatus::Placed, at }],
            idempotency_key: key.map(str::to_string),
            request_hash: "h".into(),
            guest_email: None,
            returns: vec![],
            returns_version: 0,
            returns_open: 0,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn product_documents_round_trip() {
        let p = crate::domain::product::tests::sample();
        let d = product_document(&p).expect("encode");
        assert_eq!(d.get_str("_id").ok(), Some("p1"));
        assert_eq!(d.get_i64("min_price").ok(), Some(1999));
        assert_eq!(d.get_array("skus").map(|a| a.len()).ok(), Some(3));
        assert_eq!(decode_product(d).expect("decode"), p);
        let mut bare = p.clone();
        bare.variants.clear();
        assert!(!product_document(&bare).expect("encode").contains_key("skus"));
    }

    #[test]
    fn order_documents_round_trip() {
        let o = order(Some("k-1"));
        let d = order_document(&o).expect("encode");
        assert_eq!(d.get_str("_id").ok(), Some(o.id.as_str()));
        assert_eq!(d.get_str("status").ok(), Some("placed"));
        assert_eq!(d.get_str("idem").ok(), Some("k-1"));
        assert_eq!(d.get_i64("created_ts").ok(), Some(1_800_000_000_123));
        assert_eq!(decode_order(d).expect("decode"), o);
        let keyless = order(None);
        let d = order_document(&keyless).expect("encode");
        assert!(!d.contains_key("idem"), "no key: left out of the partial unique index");
        assert_eq!(decode_order(d).expect("decode"), keyless);
    }

    #[test]
    fn cart_documents_round_trip() {
        let cart = Cart { coupon: None,
            owner: "g:abc".into(),
            lines: vec![CartLine { sku: "AC-1".into(), quantity: 2 }],
            version: 3,
            updated_at: Utc.timestamp_nanos(1_800_000_000_987_654_321),
        };
        let d = cart_document(&cart).expect("encode");
        assert_eq!(d.get_i64("version").ok(), Some(3));
        assert_eq!(decode_cart(d).expect("decode"), cart);
    }

    #[test]
    fn numbers_are_read_leniently() {
        assert_eq!(as_count(&Bson::Int32(3)), Some(3));
        assert_eq!(as_count(&Bson::Int64(4)), Some(4));
        assert_eq!(as_count(&Bson::Double(5.0)), Some(5));
        assert_eq!(as_count(&Bson::Int32(-1)), None);
        assert_eq!(as_count(&Bson::String("7".into())), None);
        assert_eq!(as_i64(&Bson::Int32(3)), Some(3));
        assert_eq!(as_i64(&Bson::Int64(-4)), Some(-4));
        assert_eq!(as_i64(&Bson::Double(5.0)), Some(5));
        assert_eq!(as_i64(&Bson::Double(5.5)), None);
        assert_eq!(as_i64(&Bson::String("7".into())), None);
    }
}
