use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::category::CategoryPath;
use super::money::Money;
use super::text;

/// A free-form attribute value: products differ in shape (sizes and colours
/// for some, technical specs for others) and new keys need no schema change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum AttrValue {
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

impl AttrValue {
    /// The values this attribute contributes to facets and filters.
    pub fn facet_values(&self) -> Vec<String> {
        match self {
            AttrValue::Bool(b) => vec![if *b { "yes".into() } else { "no".into() }],
            AttrValue::Number(n) => vec![format_number(*n)],
            AttrValue::Text(s) => vec![s.clone()],
            AttrValue::List(items) => items.clone(),
        }
    }
    pub fn display(&self) -> String {
        self.facet_values().join(", ")
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ProductStatus {
    Draft,
    #[default]
    Active,
    Archived,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 3] = [ProductStatus::Draft, ProductStatus::Active, ProductStatus::Archived];
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Variant {
    pub sku: String,
    /// Option axes of this variant, e.g. `{"size": "M", "color": "Red"}`.
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub stock: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Image {
    pub url: String,
    #[serde(default)]
    pub alt: String,
    /// A small version for listing cards, made on the server at upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
}

impl Image {
    /// What a listing card shows: the thumbnail when there is one.
    pub fn card_url(&self) -> String {
        self.thumb_url.clone().unwrap_or_else(|| self.url.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub brand: String,
    /// Category path such as `clothing/t-shirts`.
    pub category: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub attributes: BTreeMap<String, AttrValue>,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
    pub status: ProductStatus,
    /// Popularity score (views and sales); higher first in `popular` sort.
    #[serde(default)]
    pub popularity: i64,
    /// The VAT rate its prices include, in percent: 21 (standard), 11
    /// (reduced: books, food…) or 0 (exempt, with `vat_exemption`).
    #[serde(default = "standard_vat_rate")]
    pub vat_rate: i64,
    /// Why a 0 % product is exempt (printed on the invoice, e.g. "Scutit conform art. 292 Cod fiscal").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_exemption: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Romania's VAT rates since 1 August 2025: standard, reduced, exempt.
pub const VAT_RATES: [i64; 3] = [21, 11, 0];

/// A product without a rate is taxed at the standard one.
pub fn standard_vat_rate() -> i64 {
    VAT_RATES[0]
}

/// Checks a VAT rate and its exemption reason (required for 0 %, refused otherwise).
pub fn check_vat(rate: i64, exemption: Option<&str>) -> Result<Option<String>, super::user::FieldError> {
    use super::user::FieldError;
    if !VAT_RATES.contains(&rate) {
        return Err(FieldError::coded("field-vat-rate", "vat_rate", &[("rates", "21, 11, 0")]));
    }
    let reason = exemption.map(str::trim).filter(|r| !r.is_empty());
    match (rate, reason) {
        (0, None) => Err(FieldError::coded("field-vat-exemption", "vat_exemption", &[])),
        (0, Some(r)) if r.chars().count() > 300 => Err(FieldError::coded("field-max-chars", "vat_exemption", &[("max", "300")])),
        (0, Some(r)) => Ok(Some(r.to_string())),
        _ => Ok(None),
    }
}

/// What a listing shows of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductSummary {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub brand: String,
    /// The lowest variant price.
    pub price: Money,
    pub image_url: Option<String>,
    pub in_stock: bool,
    pub category: String,
    /// Number of variants (a single-variant product can go to the cart from a listing).
    pub variant_count: usize,
    /// The SKU of a single-variant product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_sku: Option<String>,
    /// Always `active` on the public listing; any status in the admin list.
    #[serde(default)]
    pub status: ProductStatus,
    /// `price` after the best automatic promotion, when one lowers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Money>,
}

/// One purchasable variant with what a cart line shows of its product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuView {
    pub product_id: String,
    pub slug: String,
    pub name: String,
    /// The product's category path (promotions may apply by category).
    #[serde(default)]
    pub category: String,
    pub image_url: Option<String>,
    pub status: ProductStatus,
    pub variant: Variant,
    /// The product's VAT rate (percent): what the cart and the order tax this line at.
    #[serde(default = "standard_vat_rate")]
    pub vat_rate: i64,
}

/// A variant as the public API shows it: with its available quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariantView {
    pub sku: String,
    pub options: BTreeMap<String, String>,
    pub price: Money,
    pub available: i64,
    /// `price` after the best automatic promotion, when one lowers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Money>,
}

/// The full product as the storefront and the public API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub brand: String,
    pub category: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub attributes: BTreeMap<String, AttrValue>,
    pub images: Vec<Image>,
    pub variants: Vec<VariantView>,
    pub price: Money,
    /// `price` after the best automatic promotion, when one lowers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Money>,
    pub in_stock: bool,
    pub status: ProductStatus,
    /// The VAT rate its prices include, in percent.
    #[serde(default = "standard_vat_rate")]
    pub vat_rate: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    pub fn min_price(&self) -> Money {
        self.variants
            .iter()
            .map(|v| &v.price)
            .min_by_key(|m| m.amount)
            .cloned()
            .unwrap_or_else(|| Money::shop(0))
    }

    pub fn in_stock(&self) -> bool {
        self.variants.iter().any(|v| v.stock > 0)
    }

    pub fn total_stock(&self) -> i64 {
        self.variants.iter().map(|v| v.stock.max(0)).sum()
    }

    /// `key=value` strings from the brand, the attributes and every
    /// variant's options. A product matches `color=Red` when it or one of
    /// its variants is red; filters and facet counts use these.
    pub fn facet_tokens(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if !self.brand.is_empty() {
            out.insert(facet_token("brand", &self.brand));
        }
        for (k, v) in &self.attributes {
            for value in v.facet_values() {
                out.insert(facet_token(k, &value));
            }
        }
        for variant in &self.variants {
            for (k, v) in &variant.options {
                out.insert(facet_token(k, v));
            }
        }
        out
    }

    /// Lower-cased words (and their prefixes) of the name, brand, category and
    /// attribute values: a search matches when every query word is among them.
    pub fn search_tokens(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |s: &str| {
            for w in text::words(s) {
                text::index_tokens(&w, &mut out);
            }
        };
        add(&self.name);
        add(&self.brand);
        add(&self.category.replace('/', " "));
        for (_, v) in &self.attributes {
            for value in v.facet_values() {
                add(&value);
            }
        }
        for variant in &self.variants {
            add(&variant.sku);
            for v in variant.options.values() {
                add(v);
            }
        }
        out
    }

    /// The category path and each of its ancestors: a product in
    /// `clothing/t-shirts` is also listed under `clothing`.
    pub fn category_paths(&self) -> Vec<String> {
        CategoryPath::ancestors_and_self(&self.category)
    }

    /// Each variant with the product facts a cart line needs.
    pub fn sku_views(&self) -> Vec<SkuView> {
        self.variants
            .iter()
            .map(|v| SkuView {
                product_id: self.id.clone(),
                slug: self.slug.clone(),
                name: self.name.clone(),
                category: self.category.clone(),
                image_url: self.images.first().map(Image::card_url),
                status: self.status,
                variant: v.clone(),
                vat_rate: self.vat_rate,
            })
            .collect()
    }

    pub fn summary(&self) -> ProductSummary {
        ProductSummary {
            id: self.id.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            brand: self.brand.clone(),
            price: self.min_price(),
            image_url: self.images.first().map(Image::card_url),
            in_stock: self.in_stock(),
            category: self.category.clone(),
            variant_count: self.variants.len(),
            single_sku: (self.variants.len() == 1).then(|| self.variants[0].sku.clone()),
            status: self.status,
            sale_price: None,
        }
    }

    pub fn view(&self) -> ProductView {
        ProductView {
            id: self.id.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            brand: self.brand.clone(),
            category: self.category.clone(),
            attributes: self.attributes.clone(),
            images: self.images.clone(),
            variants: self
                .variants
                .iter()
                .map(|v| VariantView {
                    sku: v.sku.clone(),
                    options: v.options.clone(),
                    price: v.price.clone(),
                    available: v.stock.max(0),
                    sale_price: None,
                })
                .collect(),
            price: self.min_price(),
            sale_price: None,
            in_stock: self.in_stock(),
            status: self.status,
            vat_rate: self.vat_rate,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A product as an admin or a partner sends it (create or replace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductInput {
    pub name: String,
    /// Generated from the name when absent; must be unique.
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub brand: String,
    /// A category path such as `clothing/t-shirts`.
    pub category: String,
    #[serde(default)]
    pub status: ProductStatus,
    /// Free-form: text, number, yes/no or a list of texts per key.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub attributes: BTreeMap<String, AttrValue>,
    pub variants: Vec<Variant>,
    /// When replacing a product: the stock per SKU as the editor loaded it.
    /// A variant whose `stock` differs from it is a stock change, written
    /// only if the stock is still that value (else 409: it moved, reload);
    /// an existing SKU not listed here keeps its stock whatever `stock` says,
    /// so editing a description never touches stock. Ignored on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub stock_expected: Option<BTreeMap<String, i64>>,
    /// VAT rate in percent: 21 (the default), 11 or 0 (with `vat_exemption`).
    #[serde(default = "standard_vat_rate")]
    pub vat_rate: i64,
    /// Why a 0 % product is exempt (required with 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_exemption: Option<String>,
}

fn is_valid_sku(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ProductInput {
    /// Checks every field; all problems at once, each naming its field.
    pub fn validate(&self) -> Result<ProductInput, Vec<super::user::FieldError>> {
        use super::user::FieldError;
        let mut errors = Vec::new();
        let mut p = self.clone();
        p.name = p.name.trim().to_string();
        if p.name.is_empty() || p.name.chars().count() > 200 {
            errors.push(FieldError::coded("field-product-name", "name", &[]));
        }
        if let Some(slug) = &p.slug {
            let s = slug.trim().to_string();
            if s.is_empty() || s.len() > 120 || text::slugify(&s) != s {
                errors.push(FieldError::coded("field-slug-invalid", "slug", &[]));
            }
            p.slug = Some(s);
        }
        if p.description.chars().count() > 10_000 {
            errors.push(FieldError::coded("field-description-long", "description", &[]));
        }
        p.brand = p.brand.trim().to_string();
        if p.brand.chars().count() > 100 {
            errors.push(FieldError::coded("field-max-chars", "brand", &[("max", "100")]));
        }
        p.category = p.category.trim().trim_matches('/').to_string();
        if !CategoryPath::is_valid(&p.category) {
            errors.push(FieldError::coded("field-category-invalid", "category", &[]));
        }
        if p.attributes.len() > 100 {
            errors.push(FieldError::coded("field-attributes-many", "attributes", &[]));
        }
        for (k, v) in &p.attributes {
            let field = format!("attributes.{k}");
            if !is_valid_attr_key(k) {
                errors.push(FieldError::coded("field-attribute-key", &field, &[]));
                continue;
            }
            let ok = match v {
                AttrValue::Number(n) => n.is_finite(),
                AttrValue::Text(t) => !t.trim().is_empty() && t.chars().count() <= 200 && !t.starts_with('$'),
                AttrValue::List(items) => items.len() <= 50 && items.iter().all(|t| !t.trim().is_empty() && t.chars().count() <= 200 && !t.starts_with('$')),
                AttrValue::Bool(_) => true,
            };
            if !ok {
                errors.push(FieldError::coded("field-attribute-value", &field, &[]));
            }
        }
        if p.variants.is_empty() || p.variants.len() > 500 {
            errors.push(FieldError::coded("field-variants-count", "variants", &[]));
        }
        let mut skus = std::collections::BTreeSet::new();
        let mut combos = std::collections::BTreeSet::new();
        for (i, v) in p.variants.iter_mut().enumerate() {
            v.sku = v.sku.trim().to_string();
            if !is_valid_sku(&v.sku) {
                errors.push(FieldError::coded("field-sku-invalid", &format!("variants.{i}.sku"), &[]));
            } else if !skus.insert(v.sku.clone()) {
                errors.push(FieldError::coded("field-sku-twice", &format!("variants.{i}.sku"), &[]));
            }
            if v.options.keys().any(|k| !is_valid_attr_key(k)) || v.options.values().any(|x| x.trim().is_empty() || x.chars().count() > 50 || x.starts_with('$')) {
                errors.push(FieldError::coded("field-options-invalid", &format!("variants.{i}.options"), &[]));
            } else if !combos.insert(v.options.clone()) {
                errors.push(FieldError::coded("field-options-twice", &format!("variants.{i}.options"), &[]));
            }
            if v.price.amount < 0 || v.price.amount > 100_000_000 {
                errors.push(FieldError::coded("field-price-range", &format!("variants.{i}.price"), &[]));
            }
            if v.price.currency != super::money::shop_currency() {
                errors.push(FieldError::coded("field-currency", &format!("variants.{i}.price.currency"), &[("currency", super::money::shop_currency())]));
            }
            if v.stock < 0 || v.stock > 10_000_000 {
                errors.push(FieldError::coded("field-stock-range", &format!("variants.{i}.stock"), &[]));
            }
        }
        match check_vat(p.vat_rate, p.vat_exemption.as_deref()) {
            Ok(reason) => p.vat_exemption = reason,
            Err(e) => errors.push(e),
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }
}

pub fn facet_token(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

/// Splits a `key=value` token.
pub fn split_token(token: &str) -> Option<(&str, &str)> {
    token.split_once('=')
}

impl ProductView {
    /// Option axes in display order (size before color, then alphabetical),
    /// each with its values in the order the variants list them.
    pub fn option_axes(&self) -> Vec<(String, Vec<String>)> {
        let mut axes: Vec<(String, Vec<String>)> = Vec::new();
        for v in &self.variants {
            for (k, val) in &v.options {
                match axes.iter_mut().find(|(name, _)| name == k) {
                    Some((_, values)) => {
                        if !values.contains(val) {
                            values.push(val.clone())
                        }
                    }
                    None => axes.push((k.clone(), vec![val.clone()])),
                }
            }
        }
        axes.sort_by_key(|(k, _)| (axis_rank(k), k.clone()));
        axes
    }

    /// The variant whose options all equal the selection, if any.
    pub fn find_variant(&self, selection: &BTreeMap<String, String>) -> Option<&VariantView> {
        self.variants.iter().find(|v| v.options == *selection)
    }

    /// Whether some in-stock variant has `axis=value` and agrees with the
    /// other selected axes: drives "unavailable combination" in the picker.
    pub fn option_available(&self, selection: &BTreeMap<String, String>, axis: &str, value: &str) -> bool {
        self.variants.iter().any(|v| {
            v.available > 0
                && v.options.get(axis).map(String::as_str) == Some(value)
                && selection
                    .iter()
                    .filter(|(k, _)| k.as_str() != axis)
                    .all(|(k, sel)| v.options.get(k) == Some(sel))
        })
    }
}

fn axis_rank(axis: &str) -> u8 {
    match axis {
        "size" => 0,
        "color" => 1,
        _ => 2,
    }
}

/// An attribute key (also a filter's name): 1–40 of `a-z`, `0-9` and `_`.
pub fn is_valid_attr_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 40 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Product {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let variant = |sku: &str, size: &str, color: &str, price: i64, stock: i64| Variant {
            sku: sku.into(),
            options: [("size".to_string(), size.to_string()), ("color".to_string(), color.to_string())].into(),
            price: Money::shop(price),
            stock,
        };
        Product {
            id: "p1".into(),
            slug: "acme-tee".into(),
            name: "Acme Classic T-Shirt".into(),
            description: "Soft cotton".into(),
            brand: "Acme".into(),
            category: "clothing/t-shirts".into(),
            attributes: [
                ("material".to_string(), AttrValue::Text("Cotton".into())),
                ("organic".to_string(), AttrValue::Bool(true)),
                ("weight_g".to_string(), AttrValue::Number(180.0)),
            ]
            .into(),
            variants: vec![
                variant("AC-1", "M", "Red", 1999, 3),
                variant("AC-2", "L", "Red", 2199, 0),
                variant("AC-3", "M", "Blue", 1999, 0),
            ],
            images: vec![],
            status: ProductStatus::Active,
            popularity: 5,
            vat_rate: 21,
            vat_exemption: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn facet_tokens_cover_attributes_and_variant_options() {
        let t = sample().facet_tokens();
        for expected in ["brand=Acme", "color=Red", "color=Blue", "size=M", "size=L", "material=Cotton", "organic=yes", "weight_g=180"] {
            assert!(t.contains(expected), "missing {expected} in {t:?}");
        }
        assert_eq!(t.iter().filter(|x| x.starts_with("color=")).count(), 2);
    }

    #[test]
    fn price_and_stock_derive_from_variants() {
        let p = sample();
        assert_eq!(p.min_price().amount, 1999);
        assert!(p.in_stock());
        assert_eq!(p.total_stock(), 3);
        let mut sold_out = sample();
        sold_out.variants.iter_mut().for_each(|v| v.stock = 0);
        assert!(!sold_out.in_stock());
    }

    #[test]
    fn search_tokens_include_prefixes_and_category_words() {
        let t = sample().search_tokens();
        for expected in ["acme", "cla", "classic", "shirt", "clothing", "red", "cotton"] {
            assert!(t.contains(expected), "missing {expected}");
        }
    }

    #[test]
    fn picker_knows_unavailable_combinations() {
        let v = sample().view();
        let sel: BTreeMap<String, String> = [("size".to_string(), "M".to_string())].into();
        assert!(v.option_available(&sel, "color", "Red"));
        assert!(!v.option_available(&sel, "color", "Blue"), "M/Blue has no stock");
        assert_eq!(v.option_axes()[0].0, "size");
        let full: BTreeMap<String, String> = [("size".into(), "L".into()), ("color".into(), "Red".into())].into();
        assert_eq!(v.find_variant(&full).unwrap().sku, "AC-2");
    }

    #[test]
    fn product_input_is_validated_by_field() {
        let p = sample();
        let good = ProductInput { name: " Tee ".into(), slug: None, description: String::new(), brand: "Acme".into(), category: "clothing/t-shirts".into(), status: ProductStatus::Draft, attributes: p.attributes.clone(), variants: p.variants.clone(), stock_expected: None, vat_rate: 21, vat_exemption: None };
        assert_eq!(good.validate().unwrap().name, "Tee");
        let mut bad = good.clone();
        bad.category = "Bad Path".into();
        bad.attributes.insert("Bad-Key".into(), AttrValue::Text("x".into()));
        bad.variants[1].sku = bad.variants[0].sku.clone();
        bad.variants[2].price = Money::shop(-1);
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["category", "attributes.Bad-Key", "variants.1.sku", "variants.2.price"]);
    }

    #[test]
    fn attribute_values_serialize_untagged() {
        let json = serde_json::to_value(&sample().attributes).unwrap();
        assert_eq!(json["organic"], serde_json::json!(true));
        assert_eq!(json["weight_g"], serde_json::json!(180.0));
        let back: BTreeMap<String, AttrValue> =
            serde_json::from_value(serde_json::json!({"tags": ["a", "b"], "cpu": "M3"})).unwrap();
        assert_eq!(back["tags"], AttrValue::List(vec!["a".into(), "b".into()]));
    }
}

/// Image formats the shop accepts, recognised by their first bytes (the
/// file name and the declared type are not trusted).
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpg", "image/jpeg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("png", "image/png"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("webp", "image/webp"))
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && (&bytes[8..12] == b"avif" || &bytes[8..12] == b"avis") {
        Some(("avif", "image/avif"))
    } else {
        None
    }
}

/// The largest picture accepted, per side (decoding more would take memory
/// a crafted 50 KB file could claim by declaring its size).
pub const MAX_IMAGE_SIDE: u32 = 8_000;

/// The image without the metadata a camera or phone writes into it (EXIF
/// with GPS positions, XMP, text chunks): JPEG APP1 segments, PNG
/// `eXIf`/`tEXt`/`iTXt`/`zTXt` chunks, WebP `EXIF`/`XMP ` chunks. Pixels are
/// untouched. Anything it cannot parse is returned as it came (AVIF is not
/// rewritten).
pub fn strip_metadata(bytes: &[u8]) -> Vec<u8> {
    match sniff_image(bytes).map(|(ext, _)| ext) {
        Some("jpg") => strip_jpeg(bytes),
        Some("png") => strip_png(bytes),
        Some("webp") => strip_webp(bytes),
        _ => None,
    }
    .unwrap_or_else(|| bytes.to_vec())
}

fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = b[..2].to_vec(); // SOI
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xDA {
            // start of scan: the compressed data and the rest follow as they are
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        let end = i.checked_add(2 + len).filter(|e| *e <= b.len())?;
        // APP1 holds EXIF and XMP; APP13 Photoshop IPTC
        if marker != 0xE1 && marker != 0xED {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    None
}

fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = b[..8].to_vec();
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12 + len).filter(|e| *e <= b.len())?;
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt") {
            out.extend_from_slice(&b[i..end]);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        i = end;
    }
    None
}

fn strip_webp(b: &[u8]) -> Option<Vec<u8>> {
    let mut body = b"WEBP".to_vec();
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        let end = i.checked_add(8 + len + (len & 1)).map(|e| e.min(b.len()))?;
        let kind = &b[i..i + 4];
        if kind == b"VP8X" && i + 8 < end {
            let mut chunk = b[i..end].to_vec();
            chunk[8] &= !(0x08 | 0x04); // the header no longer announces EXIF or XMP
            body.extend_from_slice(&chunk);
        } else if kind != b"EXIF" && kind != b"XMP " {
            body.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod strip_tests {
    use super::strip_metadata;

    #[test]
    fn exif_leaves_jpeg_png_and_webp() {
        // JPEG: SOI, APP0 (kept), APP1 Exif with a GPS-ish payload (dropped), SOS + data
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F'];
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x0C]);
        jpeg.extend_from_slice(b"Exif\0\0GPS!");
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]);
        let clean = strip_metadata(&jpeg);
        assert!(!clean.windows(4).any(|w| w == b"Exif"));
        assert_eq!(clean, [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F', 0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]);
        // PNG: a real image with an eXIf chunk spliced in before IEND
        let mut png = Vec::new();
        image_png(&mut png);
        let iend = png.len() - 12;
        let mut with_exif = png[..iend].to_vec();
        with_exif.extend_from_slice(&4u32.to_be_bytes());
        with_exif.extend_from_slice(b"eXIfGPS!");
        with_exif.extend_from_slice(&[0, 0, 0, 0]);
        with_exif.extend_from_slice(&png[iend..]);
        assert_eq!(strip_metadata(&with_exif), png);
        // WebP: RIFF with VP8X (EXIF flag set), VP8L, EXIF
        let mut webp_body = b"WEBP".to_vec();
        webp_body.extend_from_slice(b"VP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0");
        webp_body.extend_from_slice(b"VP8L\x02\0\0\0ab");
        webp_body.extend_from_slice(b"EXIF\x03\0\0\0GPS\0");
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&(webp_body.len() as u32).to_le_bytes());
        webp.extend_from_slice(&webp_body);
        let clean = strip_metadata(&webp);
        assert!(!clean.windows(4).any(|w| w == b"EXIF" || w == b"GPS\0"));
        assert_eq!(u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize, clean.len() - 8);
        assert_eq!(clean[20] & 0x08, 0, "VP8X no longer announces EXIF");
        // not an image: as it came
        assert_eq!(strip_metadata(b"plain"), b"plain");
    }

    /// The smallest valid PNG: 1×1, 8-bit grey.
    fn image_png(out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0, 0, 0, 0]); // CRC is not checked by the stripper
        };
        chunk(out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        chunk(out, b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        chunk(out, b"IEND", &[]);
    }
}

#[cfg(test)]
mod sniff_tests {
    use super::sniff_image;

    #[test]
    fn recognises_real_images_only() {
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap().0, "jpg");
        assert_eq!(sniff_image(b"\\x89PNG\\r\\n\\x1a\\n....".as_slice()).map(|x| x.0), None, "escaped text is not a PNG");
        assert_eq!(sniff_image(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]).unwrap().1, "image/png");
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0, "webp");
        assert_eq!(sniff_image(b"\0\0\0\x1cftypavif\0\0").unwrap().0, "avif");
        assert_eq!(sniff_image(b"hello, I am a text file renamed to .jpg"), None);
        assert_eq!(sniff_image(b""), None);
    }
}
