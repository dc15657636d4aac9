//! What the recommendation job reads of an order, shared by the store adapters.
use chrono::DateTime;

use crate::domain::recommend::Basket;

/// Order statuses whose products count as bought (never pending, cancelled or expired).
pub const COUNTED_STATUSES: [&str; 5] = ["awaiting_payment", "placed", "confirmed", "shipped", "delivered"];

/// What a basket needs of an order's document (the rest is not decoded).
#[derive(serde::Deserialize)]
pub struct SlimOrder {
    pub lines: Vec<SlimLine>,
    #[serde(default)]
    pub guest_email: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct SlimLine {
    pub product_id: String,
}

impl SlimOrder {
    pub fn basket(self, order_id: String, user_id: String, created_ms: i64) -> Basket {
        Basket {
            order_id,
            customer: self.guest_email.map(|e| e.to_lowercase()).unwrap_or(user_id),
            at: DateTime::from_timestamp_millis(created_ms).unwrap_or_default(),
            products: self.lines.into_iter().map(|l| l.product_id).collect(),
        }
    }
}

/// An order's basket as stored beside it: `{customer, products}`, distinct
/// product ids in line order (MongoDB keeps it at the top of the order's
/// document, so the job's projection reads it without the order's body).
#[cfg(feature = "ssr")]
pub fn basket_fields(order: &crate::domain::order::Order) -> mongodb::bson::Document {
    let mut products: Vec<&str> = Vec::new();
    for l in &order.lines {
        if !products.contains(&l.product_id.as_str()) {
            products.push(&l.product_id);
        }
    }
    let customer = order.guest_email.as_deref().map(str::to_lowercase).unwrap_or_else(|| order.user_id.clone());
    mongodb::bson::doc! { "customer": customer, "products": products }
}
