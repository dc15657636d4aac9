//! Catalog administration: create, replace, archive or delete products.
//! Every write bumps the catalog version, so each instance's cached
//! listings and product pages refresh at once.
use std::sync::Arc;

use chrono::Utc;

use crate::domain::category::{Category, CategoryPath};
use chrono::DateTime;

use crate::domain::audit::describe_product_change;
use crate::domain::dashboard::{sales_by_day, window_start, Dashboard, DayFigure, LastBackup, LowStock};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::product::{Image, Product, ProductInput, ProductStatus};
use crate::domain::user::{Role, User};
use crate::ports::{OrderFilter, Thumbnailer};
use crate::services::accounts::{AccountError, AccountService};
use crate::services::audit::{Actor, AuditLog};
use crate::services::orders::{OrderError, OrderService};
use crate::domain::query::CatalogQuery;
use crate::domain::text::slugify;
use crate::domain::user::FieldError;
use crate::ports::{CatalogStore, InventoryStore, OrderStore, StoreError, UserStore};
use crate::services::catalog::CatalogService;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid product")]
    Invalid(Vec<FieldError>),
    #[error("product not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// Stock changes refused: these SKUs' stock moved since the editor loaded it.
    #[error("stock changed while you were editing")]
    StockMoved(Vec<StockMoved>),
    #[error(transparent)]
    Store(StoreError),
}

/// A stock change that was not written because the stock is no longer what the editor saw.
#[derive(Debug, Clone, PartialEq)]
pub struct StockMoved {
    /// The variant's position in the input.
    pub index: usize,
    pub sku: String,
    pub expected: i64,
    pub now: i64,
}

impl StockMoved {
    pub fn field(&self) -> String {
        format!("variants.{}.stock", self.index)
    }
    pub fn message(&self) -> String {
        format!("the stock of {} changed from {} to {} while you were editing (orders came in); nothing was changed for it — reload and set it again", self.sku, self.expected, self.now)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AdminError::Conflict(m),
            e => AdminError::Store(e),
        }
    }
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    Deleted,
    /// The product was ordered before: it is archived, never destroyed.
    Archived,
}

#[derive(Clone)]
pub struct AdminCatalog {
    images: Option<Arc<dyn crate::ports::ImageStore>>,
    thumbnailer: Option<Arc<dyn Thumbnailer>>,
    catalog: CatalogService,
    store: Arc<dyn CatalogStore>,
    inventory: Arc<dyn InventoryStore>,
    orders: Arc<dyn OrderStore>,
    audit: AuditLog,
    /// Announces product changes to partners (`product.updated`).
    notify: Option<crate::services::notify::Notifier>,
}

/// The longest side of a listing thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 480;

impl AdminCatalog {
    pub fn new(catalog: CatalogService, inventory: Arc<dyn InventoryStore>, orders: Arc<dyn OrderStore>, audit: AuditLog) -> Self {
        let store = catalog.store().clone();
        Self { images: None, thumbnailer: None, catalog, store, inventory, orders, audit, notify: None }
    }

    pub fn with_notifier(mut self, notify: crate::services::notify::Notifier) -> Self {
        self.notify = Some(notify);
        self
    }

    async fn announce(&self, product: &Product) {
        if let Some(n) = &self.notify {
            n.product_changed(product).await;
        }
    }

    pub fn with_images(mut self, images: Arc<dyn crate::ports::ImageStore>, thumbnailer: Arc<dyn Thumbnailer>) -> Self {
        self.images = Some(images);
        self.thumbnailer = Some(thumbnailer);
        self
    }

    /// Stores an uploaded picture (only real JPEG, PNG, WebP or AVIF files,
    /// recognised by their bytes) with a thumbnail for listing cards, and
    /// appends it to the product's images.
    pub async fn add_image(&self, actor: &Actor, id: &str, bytes: Vec<u8>, alt: &str, max_bytes: usize) -> Result<Product, AdminError> {
        let before = self.get(id).await?;
        if bytes.len() > max_bytes {
            return Err(AdminError::Invalid(vec![FieldError::coded("field-file-large", "file", &[("mib", &(max_bytes / (1024 * 1024)).to_string())])]));
        }
        let Some((ext, content_type)) = crate::domain::product::sniff_image(&bytes) else {
            return Err(AdminError::Invalid(vec![FieldError::coded("field-file-not-image", "file", &[])]));
        };
        if before.images.len() >= 20 {
            return Err(AdminError::Invalid(vec![FieldError::coded("field-file-too-many", "file", &[])]));
        }
        // the declared size is read from the header, before any pixel is decoded
        let max_side = crate::domain::product::MAX_IMAGE_SIDE;
        if let Some((w, h)) = self.thumbnailer.as_ref().and_then(|t| t.dimensions(&bytes)) {
            if w > max_side || h > max_side {
                return Err(AdminError::Invalid(vec![FieldError::coded("field-file-pixels", "file", &[("w", &w.to_string()), ("h", &h.to_string()), ("max", &max_side.to_string())])]));
            }
        }
        // what the camera wrote (GPS positions included) does not go public
        let bytes = crate::domain::product::strip_metadata(&bytes);
        let images = self.images.as_ref().ok_or_else(|| AdminError::Store(StoreError::Other("no image store".into())))?;
        let unavailable = |e: crate::ports::ImageError| AdminError::Store(StoreError::Unavailable(e.to_string()));
        let name = uuid::Uuid::new_v4().simple().to_string();
        let thumb = match self.thumbnailer.clone() {
            Some(t) => {
                let copy = bytes.clone();
                crate::cpu::bounded(move || t.thumbnail(&copy, THUMB_SIDE)).await.ok().flatten()
            }
            None => None,
        };
        let url = images.put(&format!("products/{}/{name}.{ext}", before.id), bytes, content_type).await.map_err(unavailable)?;
        let thumb_url = match thumb {
            Some(t) => Some(images.put(&format!("products/{}/{name}-thumb.jpg", before.id), t, "image/jpeg").await.map_err(unavailable)?),
            None => None,
        };
        let alt = alt.trim();
        let mut product = before.clone();
        product.images.push(Image { url, alt: if alt.is_empty() { product.name.clone() } else { alt.chars().take(200).collect() }, thumb_url });
        product.updated_at = Utc::now();
        self.store.upsert_products(std::slice::from_ref(&product)).await?;
        self.catalog.product_saved(id).await;
        self.audit.record(actor, "product.image", id, format!("image added to {}", product.name), Some(&before.images), Some(&product.images)).await;
        self.get(id).await
    }

    /// Reorders, re-describes or drops a product's images: `images` must be a
    /// subset of the current ones (by URL), in the new order, with new alt texts.
    pub async fn set_images(&self, actor: &Actor, id: &str, images: Vec<Image>) -> Result<Product, AdminError> {
        let before = self.get(id).await?;
        let mut next = Vec::with_capacity(images.len());
        for (i, img) in images.into_iter().enumerate() {
            let Some(known) = before.images.iter().find(|k| k.url == img.url) else {
                return Err(AdminError::Invalid(vec![FieldError::coded("field-image-foreign", &format!("images[{i}]"), &[])]));
            };
            let alt: String = img.alt.trim().chars().take(200).collect();
            next.push(Image { alt: if alt.is_empty() { before.name.clone() } else { alt }, ..known.clone() });
        }
        let mut product = before.clone();
        product.images = next;
        product.updated_at = Utc::now();
        self.store.upsert_products(std::slice::from_ref(&product)).await?;
        self.catalog.product_saved(id).await;
        self.audit.record(actor, "product.images", id, format!("images of {} reordered or edited", product.name), Some(&before.images), Some(&product.images)).await;
        self.get(id).await
    }

    /// Products of any status (or the chosen ones), search and category filters, newest first.
    pub async fn list(&self, mut query: CatalogQuery, statuses: Option<Vec<ProductStatus>>) -> Result<crate::domain::query::SearchResult, AdminError> {
        query.statuses = Some(statuses.unwrap_or_else(|| ProductStatus::ALL.to_vec()));
        Ok(self.store.search(&query).await?)
    }

    pub async fn get(&self, id: &str) -> Result<Product, AdminError> {
        self.store.product_by_id(id).await?.ok_or(AdminError::NotFound)
    }

    pub async fn by_slug(&self, slug: &str) -> Result<Option<Product>, AdminError> {
        Ok(self.store.product_by_slug(slug).await?)
    }

    /// A free slug: the requested one must be free; a generated one gets a suffix.
    async fn slug_for(&self, input: &ProductInput, own_id: Option<&str>) -> Result<String, AdminError> {
        let free = |p: Option<Product>| p.map(|p| Some(p.id.as_str()) == own_id).unwrap_or(true);
        if let Some(slug) = &input.slug {
            return if free(self.store.product_by_slug(slug).await?) {
                Ok(slug.clone())
            } else {
                Err(AdminError::Invalid(vec![FieldError::coded("field-slug-taken", "slug", &[])]))
            };
        }
        let base = {
            let s = slugify(&input.name);
            if s.is_empty() { "product".to_string() } else { s.chars().take(100).collect() }
        };
        for n in 1..1000 {
            let candidate = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            if free(self.store.product_by_slug(&candidate).await?) {
                return Ok(candidate);
            }
        }
        Err(AdminError::Conflict("no free slug; give one".into()))
    }

    async fn save(&self, product: Product) -> Result<Product, AdminError> {
        // a new category path becomes a category (named after its last segment) at once
        let known = self.store.categories().await?;
        let missing: Vec<Category> = CategoryPath::ancestors_and_self(&product.category)
            .into_iter()
            .filter(|p| !known.iter().any(|c| &c.path == p))
            .map(|p| Category { name: CategoryPath::default_name(&p), path: p })
            .collect();
        if !missing.is_empty() {
            self.store.upsert_categories(&missing).await?;
        }
        // a known SKU keeps its inventory: stock changes are explicit (see `update`)
        self.store.upsert_products(std::slice::from_ref(&product)).await?;
        if missing.is_empty() {
            self.catalog.product_saved(&product.id).await;
        } else {
            // a new category: the menus change too
            self.catalog.invalidate().await;
        }
        self.get(&product.id).await
    }

    pub async fn create(&self, actor: &Actor, input: ProductInput) -> Result<Product, AdminError> {
        let input = input.validate().map_err(AdminError::Invalid)?;
        let slug = self.slug_for(&input, None).await?;
        let now = Utc::now();
        let product = from_input(input, format!("p_{}", uuid::Uuid::new_v4().simple()), slug, vec![], 0, now);
        let saved = self.save(product).await?;
        self.audit.record(actor, "product.create", &saved.id, format!("created {}", saved.name), None, Some(&saved)).await;
        self.announce(&saved).await;
        Ok(saved)
    }

    /// Replaces a product's fields (its images, popularity and creation time stay).
    pub async fn update(&self, actor: &Actor, id: &str, input: ProductInput) -> Result<Product, AdminError> {
        let existing = self.get(id).await?;
        let input = input.validate().map_err(AdminError::Invalid)?;
        let slug = match &input.slug {
            Some(_) => self.slug_for(&input, Some(id)).await?,
            None => existing.slug.clone(),
        };
        let expected = input.stock_expected.clone().unwrap_or_default();
        let product = from_input(input, existing.id.clone(), slug, existing.images.clone(), existing.popularity, existing.created_at);
        // Stock is never written back blindly: an existing SKU's stock changes
        // only when the editor says what it loaded and asks for another value,
        // and only if the stock is still what it loaded (a compare-and-set:
        // during a sale, orders move it all the time).
        let known: std::collections::BTreeSet<&str> = existing.variants.iter().map(|v| v.sku.as_str()).collect();
        let changes: Vec<(usize, String, i64, i64)> = product
            .variants
            .iter()
            .enumerate()
            .filter(|(_, v)| known.contains(v.sku.as_str()))
            .filter_map(|(i, v)| expected.get(&v.sku).filter(|e| **e != v.stock).map(|e| (i, v.sku.clone(), *e, v.stock)))
            .collect();
        let skus: Vec<String> = changes.iter().map(|c| c.1.clone()).collect();
        let levels = self.inventory.stock_levels(&skus).await?;
        let moved: Vec<StockMoved> = changes
            .iter()
            .filter(|(_, sku, e, _)| levels.get(sku) != Some(e))
            .map(|(index, sku, e, _)| StockMoved { index: *index, sku: sku.clone(), expected: *e, now: levels.get(sku).copied().unwrap_or(0) })
            .collect();
        if !moved.is_empty() {
            return Err(AdminError::StockMoved(moved));
        }
        let mut saved = self.save(product).await?;
        let mut raced = Vec::new();
        for (index, sku, e, new) in &changes {
            if !self.inventory.set_stock_if(sku, *e, *new).await? {
                let now = self.inventory.stock_levels(std::slice::from_ref(sku)).await?.get(sku).copied().unwrap_or(0);
                raced.push(StockMoved { index: *index, sku: sku.clone(), expected: *e, now });
            }
        }
        if !changes.is_empty() {
            self.store.sync_stock_snapshot(std::slice::from_ref(&saved.id)).await?;
            self.catalog.product_saved(&saved.id).await;
            saved = self.get(id).await?;
        }
        self.audit.record(actor, "product.update", id, describe_product_change(&existing, &saved), Some(&existing), Some(&saved)).await;
        self.announce(&saved).await;
        if !raced.is_empty() {
            return Err(AdminError::StockMoved(raced));
        }
        Ok(saved)
    }

    /// Deletes a product never ordered; archives one that was.
    pub async fn remove(&self, actor: &Actor, id: &str) -> Result<Removal, AdminError> {
        let before = self.get(id).await?;
        let removal = if self.orders.was_ordered(id).await? {
            let mut product = before.clone();
            product.status = ProductStatus::Archived;
            product.updated_at = Utc::now();
            self.store.upsert_products(&[product]).await?;
            Removal::Archived
        } else {
            self.store.delete_product(id).await?;
            Removal::Deleted
        };
        self.catalog.product_saved(id).await;
        let (action, what) = match removal {
            Removal::Archived => ("product.archive", "archived (it was ordered before)"),
            Removal::Deleted => ("product.delete", "deleted"),
        };
        self.audit.record(actor, action, id, format!("{} {what}", before.name), Some(&before), None).await;
        Ok(removal)
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }
}

// ------------------------------------------------------------------ orders, users, dashboard

/// Admin actions on orders and accounts, each recorded in the audit log.
#[derive(Clone)]
pub struct AdminDesk {
    accounts: AccountService,
    users: Arc<dyn UserStore>,
    orders: OrderService,
    order_store: Arc<dyn OrderStore>,
    inventory: Arc<dyn InventoryStore>,
    store: Arc<dyn CatalogStore>,
    audit: AuditLog,
    backups: Option<crate::services::backup_log::BackupLog>,
}

/// The longest user search, in characters.
pub const MAX_USER_SEARCH: usize = 200;

/// The e-mail of each order's customer account, by user id, in one read.
pub async fn customer_emails(users: &dyn UserStore, orders: &[Order]) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    let mut ids: Vec<String> = orders.iter().map(|o| o.user_id.clone()).collect();
    ids.sort();
    ids.dedup();
    Ok(users.users_by_ids(&ids).await?.into_iter().map(|u| (u.id, u.email)).collect())
}

/// At most this many orders are read to draw the dashboard.
const DASHBOARD_MAX_ORDERS: u64 = 50_000;
/// Variants at or below this stock are "low".
pub const LOW_STOCK: i64 = 5;

impl AdminDesk {
    pub fn new(accounts: AccountService, users: Arc<dyn UserStore>, orders: OrderService, order_store: Arc<dyn OrderStore>, inventory: Arc<dyn InventoryStore>, store: Arc<dyn CatalogStore>, audit: AuditLog) -> Self {
        Self { accounts, users, orders, order_store, inventory, store, audit, backups: None }
    }

    /// Keeps the backups made (for the dashboard) in `log`.
    pub fn with_backups(mut self, log: crate::services::backup_log::BackupLog) -> Self {
        self.backups = Some(log);
        self
    }

    /// Records a backup just written, for the dashboard (and erasure receipts).
    pub async fn record_backup(&self, backup: &LastBackup) -> Result<(), StoreError> {
        match &self.backups {
            Some(log) => log.record(backup).await,
            None => Ok(()),
        }
    }

    /// The newest backup recorded (an unreadable record counts as none).
    pub async fn last_backup(&self) -> Result<Option<LastBackup>, StoreError> {
        match &self.backups {
            Some(log) => log.last().await,
            None => Ok(None),
        }
    }

    /// Users whose e-mail or name contains `q`, newest first; a search of
    /// more than [`MAX_USER_SEARCH`] characters is refused (every door alike).
    pub async fn search_users(&self, q: Option<&str>, page: u64, per_page: u64) -> Result<(Vec<User>, u64), AccountError> {
        let q = q.map(str::trim).filter(|s| !s.is_empty());
        if q.is_some_and(|s| s.chars().count() > MAX_USER_SEARCH) {
            return Err(FieldError::coded("query-q-long", "q", &[("max", &MAX_USER_SEARCH.to_string())]).into());
        }
        let (offset, limit) = crate::domain::query::page_window(page, per_page);
        Ok(self.users.list_users(q, offset, limit).await?)
    }

    /// An order as the panel shows it (any customer's; never one still
    /// pending, which is not placed yet).
    pub async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        Ok(self.order_store.order_by_id(id).await?.filter(|o| o.status != OrderStatus::Pending))
    }

    /// Each order with its customer's e-mail and whether that is a guest's
    /// (an order placed without an account); the accounts are read in one batch.
    pub async fn with_customers(&self, orders: Vec<Order>) -> Result<Vec<(Order, String, bool)>, StoreError> {
        let emails = customer_emails(self.users.as_ref(), &orders).await?;
        Ok(orders
            .into_iter()
            .map(|o| {
                let (email, guest) = match (emails.get(&o.user_id), &o.guest_email) {
                    (Some(e), _) => (e.clone(), false),
                    (None, Some(guest)) => (guest.clone(), true),
                    (None, None) => (String::new(), false),
                };
                (o, email, guest)
            })
            .collect())
    }

    /// Orders as CSV (`None`: a filter nothing matches, such as an unknown customer).
    pub async fn export_orders(&self, filter: Option<&OrderFilter>) -> Result<String, StoreError> {
        crate::services::csv_io::export_orders(self.order_store.as_ref(), self.users.as_ref(), filter).await
    }

    pub async fn set_order_status(&self, actor: &Actor, id: &str, to: OrderStatus) -> Result<Order, OrderError> {
        let before = self.order_store.order_by_id(id).await?;
        let order = self.orders.transition(id, to).await?;
        let from = before.as_ref().map(|o| o.status.as_str()).unwrap_or("?");
        let restock = if to == OrderStatus::Cancelled { " (stock returned)" } else { "" };
        self.audit.record(actor, "order.status", id, format!("{} {from} → {}{restock}", order.number, to.as_str()), before.as_ref(), Some(&order)).await;
        Ok(order)
    }

    /// Records that a bank transfer came in: the order goes ahead (once).
    pub async fn mark_paid(&self, actor: &Actor, id: &str) -> Result<Order, OrderError> {
        let before = self.order_store.order_by_id(id).await?;
        let order = self.orders.mark_paid(id).await?;
        self.audit.record(actor, "order.paid", id, format!("{} paid ({})", order.number, order.payment.method.as_str()), before.as_ref(), Some(&order)).await;
        Ok(order)
    }

    /// One step of a return (approve, refuse, receive, refund), recorded in the audit log.
    pub async fn return_step(&self, actor: &Actor, id: &str, return_id: &str, step: ReturnStep) -> Result<Order, OrderError> {
        let before = self.order_store.order_by_id(id).await?;
        let (action, order) = match &step {
            ReturnStep::Approve => ("return.approve", self.orders.approve_return(id, return_id).await?),
            ReturnStep::Reject { note } => ("return.reject", self.orders.reject_return(id, return_id, note).await?),
            ReturnStep::Receive { lines } => ("return.receive", self.orders.receive_return(id, return_id, lines).await?),
            ReturnStep::Refund { iban } => ("return.refund", self.orders.refund_return(id, return_id, iban.as_deref()).await?),
        };
        let r = order.returns.iter().find(|r| r.id == return_id);
        let what = format!("{} return {return_id}: {}{}", order.number, r.map(|r| r.status.as_str()).unwrap_or("?"), r.filter(|r| r.refund_cents > 0).map(|r| format!(", {} {} refunded", r.refund_cents, order.currency)).unwrap_or_default());
        self.audit.record(actor, action, id, what, before.as_ref(), Some(&order)).await;
        Ok(order)
    }

    /// Gives back `amount_cents` of what the customer paid, recorded with its reason.
    pub async fn refund(&self, actor: &Actor, id: &str, amount_cents: i64, reason: &str) -> Result<Order, OrderError> {
        let reason = reason.trim();
        if reason.chars().count() > 500 {
            return Err(FieldError::coded("field-max-chars", "reason", &[("max", "500")]).into());
        }
        let before = self.order_store.order_by_id(id).await?;
        let order = self.orders.refund(id, amount_cents, reason).await?;
        let what = format!("{} refunded {} of {} {} ({})", order.number, amount_cents, order.payment.amount_cents, order.payment.currency, if reason.is_empty() { "no reason given" } else { reason });
        self.audit.record(actor, "order.refund", id, what, before.as_ref(), Some(&order)).await;
        Ok(order)
    }

    /// Changes a user's role or access. An admin cannot lock themselves out
    /// (disable their own account or give up the admin role), through any door.
    pub async fn change_user(&self, actor: &Actor, id: &str, role: Option<Role>, disabled: Option<bool>) -> Result<User, AccountError> {
        if id == actor.id {
            if disabled == Some(true) {
                return Err(FieldError::coded("field-lock-out", "disabled", &[]).into());
            }
            if role.is_some_and(|r| r != Role::Admin) {
                return Err(FieldError::coded("field-lock-out", "role", &[]).into());
            }
        }
        let before = self.users.user_by_id(id).await?.map(|u| u.view());
        let user = self.accounts.administer(id, role, disabled).await?;
        let mut what = Vec::new();
        if let (Some(r), Some(b)) = (role, &before) {
            if b.role != r {
                what.push(format!("role {} → {}", b.role.as_str(), r.as_str()));
            }
        }
        match disabled {
            Some(true) => what.push("disabled".to_string()),
            Some(false) => what.push("enabled".to_string()),
            None => {}
        }
        self.audit.record(actor, "user.update", id, format!("{}: {}", user.email, if what.is_empty() { "no change".into() } else { what.join(", ") }), before.as_ref(), Some(&user.view())).await;
        Ok(user)
    }

    pub async fn create_user(&self, actor: &Actor, email: &str, password: &str, name: &str, role: Role) -> Result<User, AccountError> {
        let user = self.accounts.register(email, password, name, role).await?;
        self.audit.record(actor, "user.create", &user.id, format!("{} created as {}", user.email, role.as_str()), None, Some(&user.view())).await;
        Ok(user)
    }

    /// The last 30 days of sales, today's figures, low stock, best sellers and orders waiting.
    pub async fn dashboard(&self, now: DateTime<Utc>) -> Result<Dashboard, StoreError> {
        const DAYS: u32 = 30;
        let today = now.date_naive();
        let filter = OrderFilter { from: Some(window_start(today, DAYS)), ..Default::default() };
        let mut orders = Vec::new();
        let mut truncated = false;
        loop {
            let (page, total) = self.order_store.list_orders(&filter, orders.len() as u64, 1000).await?;
            let done = page.is_empty();
            orders.extend(page);
            if done || orders.len() as u64 >= total {
                break;
            }
            if orders.len() as u64 >= DASHBOARD_MAX_ORDERS {
                truncated = true;
                break;
            }
        }
        let (days, top_products) = sales_by_day(&orders, today, DAYS, 8);
        let today_figure = days.last().cloned().unwrap_or(DayFigure { day: today, orders: 0, revenue: 0 });
        let levels = self.inventory.low_stock(LOW_STOCK, 8).await?;
        let skus: Vec<String> = levels.iter().map(|l| l.sku.clone()).collect();
        let products = self.store.products_by_skus(&skus).await?;
        let low_stock = levels
            .into_iter()
            .filter_map(|l| {
                let p = products.iter().find(|p| p.id == l.product_id).filter(|p| p.status != ProductStatus::Archived)?;
                let v = p.variants.iter().find(|v| v.sku == l.sku)?;
                Some(LowStock { sku: l.sku, product_id: p.id.clone(), name: p.name.clone(), options: v.options.clone(), stock: l.stock })
            })
            .collect();
        let waiting_filter = OrderFilter { status: Some(OrderStatus::Placed), ..Default::default() };
        let (mut waiting, waiting_total) = self.order_store.list_orders(&waiting_filter, 0, 10).await?;
        waiting.reverse();
        let last_backup = self.last_backup().await?;
        let backup_overdue = crate::domain::dashboard::backup_overdue(last_backup.as_ref(), now);
        Ok(Dashboard { days, today: today_figure, currency: crate::domain::money::shop_currency().into(), top_products, low_stock, waiting, waiting_total, truncated, last_backup, backup_overdue })
    }
}

/// A product from validated input plus what the input does not carry.
fn from_input(input: ProductInput, id: String, slug: String, images: Vec<crate::domain::product::Image>, popularity: i64, created_at: chrono::DateTime<Utc>) -> Product {
    Product {
        id,
        slug,
        name: input.name,
        description: input.description,
        brand: input.brand,
        category: input.category,
        attributes: input.attributes,
        variants: input.variants,
        images,
        status: input.status,
        popularity,
        vat_rate: input.vat_rate,
        vat_exemption: input.vat_exemption,
        created_at,
        updated_at: Utc::now(),
    }
}

/// A step of a return as an admin takes it.
#[derive(Debug, Clone)]
pub enum ReturnStep {
    Approve,
    Reject { note: String },
    Receive { lines: Vec<crate::domain::returns::ReceivedLine> },
    Refund { iban: Option<String> },
}
