//! The indexes every collection needs, created at start (idempotent).
use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::{map_error, MongoStore};
use crate::ports::StoreError;

impl MongoStore {
    /// Creates the catalog's, the accounts' and the orders' indexes;
    /// idempotent. An unreachable server is an error; an index the server
    /// refuses (e.g. one that exists with other options) is logged and
    /// skipped: the store still works, and the adapter checks slug/SKU and
    /// e-mail conflicts itself. TTL indexes (`expireAfterSeconds: 0`) remove
    /// expired refresh tokens and key/value entries at their BSON-date
    /// `expires_at`. The idempotency-key index is partial (`idem` exists),
    /// so orders without a key never collide. `carts` and `counters` are
    /// only read by `_id`; `inventory` also by stock level (low stock). The
    /// audit log is listed newest first (`at_ts`, epoch ms).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = || IndexOptions::builder().unique(true).build();
        let ttl = || IndexOptions::builder().expire_after(Duration::from_secs(0)).build();
        let products: Vec<(&str, IndexModel)> = vec![
            ("slug unique", IndexModel::builder().keys(doc! { "slug": 1 }).options(unique()).build()),
            (
                "skus unique",
                IndexModel::builder()
                    .keys(doc! { "skus": 1 })
                    .options(IndexOptions::builder().unique(true).sparse(true).build())
                    .build(),
            ),
            (
                "status category price",
                IndexModel::builder().keys(doc! { "status": 1, "category_paths": 1, "min_price": 1 }).build(),
            ),
            ("facet tokens", IndexModel::builder().keys(doc! { "facet_tokens": 1 }).build()),
            ("search tokens", IndexModel::builder().keys(doc! { "search_tokens": 1 }).build()),
            ("status popularity", IndexModel::builder().keys(doc! { "status": 1, "popularity": -1 }).build()),
            ("status relevance", IndexModel::builder().keys(doc! { "status": 1, "in_stock": -1, "popularity": -1 }).build()),
            ("status created", IndexModel::builder().keys(doc! { "status": 1, "created_ts": -1 }).build()),
            ("status category", IndexModel::builder().keys(doc! { "status": 1, "category": 1 }).build()),
            ("changed", IndexModel::builder().keys(doc! { "changed_ms": 1 }).build()),
        ];
        let (promotions, redemptions) = (self.promotions_coll(), self.redemptions());
        let documents = self.database().collection::<Document>(super::documents::DOCUMENTS);
        let mut indexes: Vec<(&Collection<Document>, &str, IndexModel)> =
            products.into_iter().map(|(what, model)| (&self.products, what, model)).collect();
        indexes.extend([
            (
                &self.users,
                "email key unique",
                IndexModel::builder().keys(doc! { "email_key": 1 }).options(unique()).build(),
            ),
            (&self.users, "created", IndexModel::builder().keys(doc! { "created_ts": -1 }).build()),
            (&self.token_families, "user", IndexModel::builder().keys(doc! { "user_id": 1 }).build()),
            (&self.refresh_tokens, "family", IndexModel::builder().keys(doc! { "family_id": 1 }).build()),
            (
                &self.refresh_tokens,
                "expiry ttl",
                IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl()).build(),
            ),
            (&self.kv, "expiry ttl", IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl()).build()),
            (
                &self.orders,
                "idempotency key unique",
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "idem": 1 })
                    .options(
                        IndexOptions::builder()
                            .unique(true)
                            .partial_filter_expression(doc! { "idem": { "$exists": true } })
                            .build(),
                    )
                    .build(),
            ),
            (&self.orders, "user created", IndexModel::builder().keys(doc! { "user_id": 1, "created_ts": -1 }).build()),
            (&self.orders, "status created", IndexModel::builder().keys(doc! { "status": 1, "created_ts": 1 }).build()),
            (&self.orders, "guest e-mail", IndexModel::builder().keys(doc! { "doc.guest_email": 1 }).options(IndexOptions::builder().sparse(true).build()).build()),
            (&self.orders, "open returns", IndexModel::builder().keys(doc! { "doc.returns_open": 1 }).options(IndexOptions::builder().sparse(true).build()).build()),
            (&self.inventory, "stock", IndexModel::builder().keys(doc! { "stock": 1 }).build()),
            (&self.audit, "newest", IndexModel::builder().keys(doc! { "at_ts": -1 }).build()),
            (&self.outbox, "due", IndexModel::builder().keys(doc! { "status": 1, "next_ms": 1 }).build()),
            (&self.outbox, "newest", IndexModel::builder().keys(doc! { "created_ms": -1 }).build()),
            (&self.orders, "unsent entries", IndexModel::builder().keys(doc! { "outbox_key": 1 }).options(IndexOptions::builder().sparse(true).build()).build()),
            (&promotions, "code unique", IndexModel::builder().keys(doc! { "code_key": 1 }).options(unique()).build()),
            (&promotions, "newest", IndexModel::builder().keys(doc! { "created_ms": -1 }).build()),
            (&redemptions, "order", IndexModel::builder().keys(doc! { "order_id": 1 }).build()),
            (&redemptions, "live", IndexModel::builder().keys(doc! { "released": 1, "promotion_id": 1 }).build()),
            (&documents, "number unique", IndexModel::builder().keys(doc! { "series": 1, "number": 1 }).options(unique()).build()),
            (&documents, "one per purpose", IndexModel::builder().keys(doc! { "order_id": 1, "kind": 1, "reference": 1 }).options(unique()).build()),
            (&documents, "e-Factura state", IndexModel::builder().keys(doc! { "efactura": 1, "issued_ms": 1 }).build()),
        ]);
        for (collection, what, model) in indexes {
            if let Err(e) = collection.create_index(model).await {
                match map_error("create index", e) {
                    StoreError::Unavailable(msg) => return Err(StoreError::Unavailable(msg)),
                    other => tracing::warn!(
                        collection = collection.name(),
                        index = what,
                        error = %other,
                        "could not create an index"
                    ),
                }
            }
        }
        Ok(())
    }
}
