//! Catalog administration: create, replace, archive or delete products.
//! Every write bumps the catalog version, so each instance's cached
//! listings and product pages refresh at once.
use std::sync::Arc;

use chrono::Utc;

use crate::domain::category::{Category, CategoryPath};
use crate::domain::product::{Product, ProductInput, ProductStatus};
use crate::domain::query::CatalogQuery;
use crate::domain::text::slugify;
use crate::domain::user::FieldError;
use crate::ports::{CatalogStore, InventoryStore, OrderStore, StoreError};
use crate::services::catalog::CatalogService;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid product")]
    Invalid(Vec<FieldError>),
    #[error("product not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
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
    catalog: CatalogService,
    store: Arc<dyn CatalogStore>,
    inventory: Arc<dyn InventoryStore>,
    orders: Arc<dyn OrderStore>,
}

impl AdminCatalog {
    pub fn new(catalog: CatalogService, inventory: Arc<dyn InventoryStore>, orders: Arc<dyn OrderStore>) -> Self {
        let store = catalog.store().clone();
        Self { images: None, catalog, store, inventory, orders }
    }

    pub fn with_images(mut self, images: Arc<dyn crate::ports::ImageStore>) -> Self {
        self.images = Some(images);
        self
    }

    /// Stores an uploaded picture (only real JPEG, PNG, WebP or AVIF files,
    /// recognised by their bytes) and appends it to the product's images.
    pub async fn add_image(&self, id: &str, bytes: Vec<u8>, alt: &str, max_bytes: usize) -> Result<Product, AdminError> {
        let mut product = self.get(id).await?;
        if bytes.len() > max_bytes {
            return Err(AdminError::Invalid(vec![FieldError::new("file", format!("is larger than {} MiB", max_bytes / (1024 * 1024)))]));
        }
        let Some((ext, content_type)) = crate::domain::product::sniff_image(&bytes) else {
            return Err(AdminError::Invalid(vec![FieldError::new("file", "is not a JPEG, PNG, WebP or AVIF image (whatever its name says)")]));
        };
        if product.images.len() >= 20 {
            return Err(AdminError::Invalid(vec![FieldError::new("file", "a product has at most 20 images")]));
        }
        let images = self.images.as_ref().ok_or_else(|| AdminError::Store(StoreError::Other("no image store".into())))?;
        let key = format!("products/{}/{}.{ext}", product.id, uuid::Uuid::new_v4().simple());
        let url = images.put(&key, bytes, content_type).await.map_err(|e| AdminError::Store(StoreError::Unavailable(e.to_string())))?;
        let alt = alt.trim();
        product.images.push(crate::domain::product::Image { url, alt: if alt.is_empty() { product.name.clone() } else { alt.chars().take(200).collect() } });
        product.updated_at = Utc::now();
        self.store.upsert_products(std::slice::from_ref(&product)).await?;
        self.catalog.invalidate().await;
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

    /// A free slug: the requested one must be free; a generated one gets a suffix.
    async fn slug_for(&self, input: &ProductInput, own_id: Option<&str>) -> Result<String, AdminError> {
        let free = |p: Option<Product>| p.map(|p| Some(p.id.as_str()) == own_id).unwrap_or(true);
        if let Some(slug) = &input.slug {
            return if free(self.store.product_by_slug(slug).await?) {
                Ok(slug.clone())
            } else {
                Err(AdminError::Invalid(vec![FieldError::new("slug", "is used by another product")]))
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

    async fn save(&self, product: Product, stock_from_input: bool) -> Result<Product, AdminError> {
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
        self.store.upsert_products(std::slice::from_ref(&product)).await?;
        if stock_from_input {
            // the admin sets stock explicitly: that is the new truth
            for v in &product.variants {
                self.inventory.set_stock(&v.sku, v.stock).await?;
            }
            self.store.sync_stock_snapshot(std::slice::from_ref(&product.id)).await?;
        }
        self.catalog.invalidate().await;
        self.get(&product.id).await
    }

    pub async fn create(&self, input: ProductInput) -> Result<Product, AdminError> {
        let input = input.validate().map_err(AdminError::Invalid)?;
        let slug = self.slug_for(&input, None).await?;
        let now = Utc::now();
        let product = from_input(input, format!("p_{}", uuid::Uuid::new_v4().simple()), slug, vec![], 0, now);
        self.save(product, false).await
    }

    /// Replaces a product's fields (its images, popularity and creation time stay).
    pub async fn update(&self, id: &str, input: ProductInput) -> Result<Product, AdminError> {
        let existing = self.get(id).await?;
        let input = input.validate().map_err(AdminError::Invalid)?;
        let slug = match &input.slug {
            Some(_) => self.slug_for(&input, Some(id)).await?,
            None => existing.slug.clone(),
        };
        let product = from_input(input, existing.id.clone(), slug, existing.images.clone(), existing.popularity, existing.created_at);
        self.save(product, true).await
    }

    /// Deletes a product never ordered; archives one that was.
    pub async fn remove(&self, id: &str) -> Result<Removal, AdminError> {
        let mut product = self.get(id).await?;
        let removal = if self.orders.was_ordered(id).await? {
            product.status = ProductStatus::Archived;
            product.updated_at = Utc::now();
            self.store.upsert_products(&[product]).await?;
            Removal::Archived
        } else {
            self.store.delete_product(id).await?;
            Removal::Deleted
        };
        self.catalog.invalidate().await;
        Ok(removal)
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
        created_at,
        updated_at: Utc::now(),
    }
}
