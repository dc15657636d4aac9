//! The deterministic demo catalog (`vitrina seed`): a category tree, brands,
//! size × colour variants, EU shoe sizes, technical specs, books, stock levels
//! including sold-out variants, and images drawn by the program (SVG).
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};

use crate::domain::category::Category;
use crate::domain::money::Money;
use crate::domain::product::{AttrValue, Image, Product, ProductStatus, Variant};
use crate::domain::text::slugify;
use crate::ports::{CatalogStore, ImageStore, StoreError};

/// splitmix64: small, fast, deterministic.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// `k` distinct items keeping their order.
    fn subset<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        for i in (1..idx.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            idx.swap(i, j);
        }
        let mut chosen: Vec<usize> = idx.into_iter().take(k.min(items.len())).collect();
        chosen.sort();
        chosen.into_iter().map(|i| items[i].clone()).collect()
    }
}

pub const CATEGORIES: &[(&str, &str)] = &[
    ("clothing", "Clothing"),
    ("clothing/t-shirts", "T-Shirts"),
    ("clothing/jeans", "Jeans"),
    ("clothing/jackets", "Jackets"),
    ("clothing/hoodies", "Hoodies"),
    ("shoes", "Shoes"),
    ("shoes/sneakers", "Sneakers"),
    ("shoes/boots", "Boots"),
    ("electronics", "Electronics"),
    ("electronics/laptops", "Laptops"),
    ("electronics/phones", "Phones"),
    ("electronics/headphones", "Headphones"),
    ("home", "Home"),
    ("home/kitchen", "Kitchen"),
    ("home/lighting", "Lighting"),
    ("books", "Books"),
    ("books/fiction", "Fiction"),
    ("books/non-fiction", "Non-fiction"),
];

const COLORS: &[(&str, &str)] = &[
    ("Black", "#222222"),
    ("White", "#f2f2f2"),
    ("Red", "#d64541"),
    ("Blue", "#3a6fd8"),
    ("Green", "#3d9a5f"),
    ("Grey", "#8d939b"),
    ("Navy", "#24335e"),
    ("Beige", "#d9c7a7"),
    ("Yellow", "#f0c93a"),
];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
const ADJECTIVES: &[&str] = &[
    "Classic", "Essential", "Urban", "Vintage", "Premium", "Everyday", "Coastal", "Nordic", "Alpine", "Studio", "Heritage", "Modern",
    "Relaxed", "Active", "Summit", "Metro", "Organic", "Featherweight",
];

struct Kind {
    path: &'static str,
    nouns: &'static [&'static str],
    brands: &'static [&'static str],
    price: (i64, i64),
    weight: u64,
}

const KINDS: &[Kind] = &[
    Kind { path: "clothing/t-shirts", nouns: &["T-Shirt", "Crew Tee", "V-Neck Tee", "Pocket Tee"], brands: &["Acme", "Northwind", "Lumen", "Carpathia", "Tidewear"], price: (60, 225), weight: 18 },
    Kind { path: "clothing/jeans", nouns: &["Slim Jeans", "Straight Jeans", "Relaxed Jeans", "Selvedge Jeans"], brands: &["Denimo", "Acme", "Bluerun", "Carpathia"], price: (195, 645), weight: 10 },
    Kind { path: "clothing/jackets", nouns: &["Rain Jacket", "Puffer Jacket", "Denim Jacket", "Field Jacket"], brands: &["Northwind", "Summitline", "Acme", "Fjordik"], price: (345, 1445), weight: 8 },
    Kind { path: "clothing/hoodies", nouns: &["Hoodie", "Zip Hoodie", "Fleece Hoodie"], brands: &["Lumen", "Tidewear", "Acme"], price: (175, 445), weight: 8 },
    Kind { path: "shoes/sneakers", nouns: &["Runner", "Court Sneaker", "Trail Runner", "Canvas Sneaker"], brands: &["Stride", "Velox", "Acme", "Pacer"], price: (245, 895), weight: 10 },
    Kind { path: "shoes/boots", nouns: &["Chelsea Boot", "Hiking Boot", "Winter Boot"], brands: &["Fjordik", "Summitline", "Stride"], price: (395, 1245), weight: 6 },
    Kind { path: "electronics/laptops", nouns: &["Laptop", "Ultrabook", "Notebook Pro", "Creator Laptop"], brands: &["Novatek", "Orbis", "Quanta", "Helix"], price: (2495, 14495), weight: 8 },
    Kind { path: "electronics/phones", nouns: &["Phone", "Smartphone", "Phone Mini", "Phone Max"], brands: &["Orbis", "Novatek", "Pixelon", "Helix"], price: (995, 6995), weight: 8 },
    Kind { path: "electronics/headphones", nouns: &["Headphones", "Earbuds", "Studio Monitors"], brands: &["Sonora", "Quanta", "Pixelon"], price: (145, 1995), weight: 6 },
    Kind { path: "home/kitchen", nouns: &["Chef Knife", "Kettle", "Cast Iron Pan", "French Press", "Mixing Bowl Set"], brands: &["Casa", "Ferro", "Hearth"], price: (75, 945), weight: 8 },
    Kind { path: "home/lighting", nouns: &["Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip"], brands: &["Lumina", "Casa", "Nordlys"], price: (95, 1245), weight: 5 },
    Kind { path: "books/fiction", nouns: &["Novel"], brands: &["Harbor Press", "Quill & Co", "Meridian Books"], price: (40, 160), weight: 6 },
    Kind { path: "books/non-fiction", nouns: &["Guide", "History", "Handbook"], brands: &["Harbor Press", "Meridian Books", "Atlas Publishing"], price: (50, 225), weight: 5 },
];

const AUTHORS: &[&str] = &["Ana Popescu", "Mihai Ionescu", "Elena Radu", "John Carter", "Maria Lopez", "Yuki Tanaka", "Sofia Novak", "Liam Walsh", "Ioana Marin", "David Kim"];
const BOOK_WORDS: &[&str] = &["River", "Silent", "Winter", "Garden", "Empire", "Light", "Shadows", "Harbor", "Mountain", "Letters", "Stars", "Memory", "City", "Salt", "Glass"];
const CPUS: &[&str] = &["Intel Core i5", "Intel Core i7", "AMD Ryzen 5", "AMD Ryzen 7", "Apple M3", "Snapdragon X"];

fn price_cents(rng: &mut Rng, (lo, hi): (i64, i64)) -> i64 {
    rng.range(lo, hi) * 100 - 1
}

fn stock(rng: &mut Rng) -> i64 {
    if rng.chance(15) {
        0
    } else if rng.chance(20) {
        rng.range(1, 4)
    } else {
        rng.range(5, 120)
    }
}

fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pick_kind(rng: &mut Rng) -> &'static Kind {
    let total: u64 = KINDS.iter().map(|k| k.weight).sum();
    let mut r = rng.below(total);
    for k in KINDS {
        if r < k.weight {
            return k;
        }
        r -= k.weight;
    }
    &KINDS[0]
}

/// The `i`-th demo product (the same `i` always gives the same product).
pub fn demo_product(i: u64) -> Product {
    demo_product_and_color(i).0
}

/// The `i`-th demo product and the main colour its picture is drawn in.
fn demo_product_and_color(i: u64) -> (Product, &'static str) {
    let mut rng = Rng::new(i + 1);
    let kind = pick_kind(&mut rng);
    let brand = rng.pick(kind.brands).to_string();
    let noun = *rng.pick(kind.nouns);
    let adjective = *rng.pick(ADJECTIVES);
    let id = format!("p{:06}", i);
    let base_price = price_cents(&mut rng, kind.price);
    let mut attributes: BTreeMap<String, AttrValue> = BTreeMap::new();
    let mut variants = Vec::new();
    let sku_base = format!("{}-{:06}", &slugify(&brand).to_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).take(3).collect::<String>(), i);
    let mut name = format!("{brand} {adjective} {noun}");
    let description;
    let primary_color: &'static str;

    let top = kind.path.split('/').next().unwrap_or("");
    match top {
        "clothing" => {
            let colors = { let k = rng.range(2, 4) as usize; rng.subset(COLORS, k) };
            let sizes: Vec<&str> = if kind.path.ends_with("jeans") { vec!["S", "M", "L", "XL"] } else { { let k = rng.range(3, 6) as usize; rng.subset(SIZES, k) } };
            primary_color = colors[0].1;
            let material = *rng.pick(&["Cotton", "Organic cotton", "Linen", "Polyester", "Wool blend", "Denim"]);
            attributes.insert("material".into(), AttrValue::Text(material.into()));
            attributes.insert("fit".into(), AttrValue::Text((*rng.pick(&["Regular", "Slim", "Relaxed", "Oversized"])).into()));
            attributes.insert("gender".into(), AttrValue::Text((*rng.pick(&["Men", "Women", "Unisex"])).into()));
            if kind.path.ends_with("jackets") {
                attributes.insert("waterproof".into(), AttrValue::Bool(rng.chance(60)));
            }
            for (c, _) in &colors {
                for s in &sizes {
                    let surcharge = if *s == "XXL" { 1000 } else { 0 };
                    variants.push(Variant {
                        sku: format!("{sku_base}-{}-{}", slugify(c).to_uppercase(), s),
                        options: opts(&[("color", c), ("size", s)]),
                        price: Money::shop(base_price + surcharge),
                        stock: stock(&mut rng),
                    });
                }
            }
            description = format!("A {} {} in {}. Cut for a {} fit and made to last wash after wash.", adjective.to_lowercase(), noun.to_lowercase(), material.to_lowercase(), attributes["fit"].display().to_lowercase());
        }
        "shoes" => {
            let colors = { let k = rng.range(1, 2) as usize; rng.subset(COLORS, k) };
            primary_color = colors[0].1;
            let lo = rng.range(36, 40);
            let hi = rng.range(43, 46);
            attributes.insert("upper".into(), AttrValue::Text((*rng.pick(&["Leather", "Suede", "Mesh", "Canvas", "Knit"])).into()));
            attributes.insert("sole".into(), AttrValue::Text((*rng.pick(&["Rubber", "EVA foam", "Vibram"])).into()));
            attributes.insert("gender".into(), AttrValue::Text((*rng.pick(&["Men", "Women", "Unisex"])).into()));
            for (c, _) in &colors {
                for size in lo..=hi {
                    let s = size.to_string();
                    variants.push(Variant {
                        sku: format!("{sku_base}-{}-{}", slugify(c).to_uppercase(), size),
                        options: opts(&[("color", c), ("size", &s)]),
                        price: Money::shop(base_price),
                        stock: stock(&mut rng),
                    });
                }
            }
            description = format!("{name}: {} upper, {} sole, EU sizes {lo}–{hi}.", attributes["upper"].display().to_lowercase(), attributes["sole"].display());
        }
        "electronics" => {
            let colors: Vec<&str> = { let k = rng.range(1, 2) as usize; rng.subset(&["Silver", "Space Grey", "Black", "White", "Blue"], k) };
            primary_color = "#4a5568";
            match kind.path {
                "electronics/laptops" => {
                    let ram = *rng.pick(&[8.0, 16.0, 16.0, 32.0, 64.0]);
                    let storage = *rng.pick(&[256.0, 512.0, 512.0, 1024.0, 2048.0]);
                    let screen = *rng.pick(&[13.3, 14.0, 15.6, 16.0, 17.3]);
                    let cpu = *rng.pick(CPUS);
                    attributes.insert("ram_gb".into(), AttrValue::Number(ram));
                    attributes.insert("storage_gb".into(), AttrValue::Number(storage));
                    attributes.insert("screen_in".into(), AttrValue::Number(screen));
                    attributes.insert("cpu".into(), AttrValue::Text(cpu.into()));
                    attributes.insert("os".into(), AttrValue::Text((if cpu.starts_with("Apple") { "macOS" } else { *rng.pick(&["Windows 11", "Linux", "Windows 11"]) }).into()));
                    attributes.insert("weight_kg".into(), AttrValue::Number((rng.range(9, 28) as f64) / 10.0));
                    name = format!("{brand} {adjective} {noun} {}\" {}GB", crate::domain::product::format_number(screen), ram as i64);
                    description = format!("{cpu}, {} GB RAM, {} GB SSD and a {}-inch display.", ram as i64, storage as i64, screen);
                    for c in &colors {
                        variants.push(Variant { sku: format!("{sku_base}-{}", slugify(c).to_uppercase()), options: opts(&[("color", c)]), price: Money::shop(base_price), stock: stock(&mut rng) });
                    }
                }
                "electronics/phones" => {
                    attributes.insert("screen_in".into(), AttrValue::Number(*rng.pick(&[5.8, 6.1, 6.4, 6.7])));
                    attributes.insert("ram_gb".into(), AttrValue::Number(*rng.pick(&[6.0, 8.0, 12.0])));
                    attributes.insert("5g".into(), AttrValue::Bool(rng.chance(80)));
                    attributes.insert("camera_mp".into(), AttrValue::Number(*rng.pick(&[12.0, 48.0, 50.0, 108.0])));
                    description = format!("{name} with a {}-inch screen and a {} MP camera.", attributes["screen_in"].display(), attributes["camera_mp"].display());
                    for c in &colors {
                        for (k, storage) in ["128", "256", "512"].iter().enumerate() {
                            variants.push(Variant {
                                sku: format!("{sku_base}-{}-{storage}", slugify(c).to_uppercase()),
                                options: opts(&[("color", c), ("storage", &format!("{storage} GB"))]),
                                price: Money::shop(base_price + k as i64 * 10_000),
                                stock: stock(&mut rng),
                            });
                        }
                    }
                }
                _ => {
                    attributes.insert("wireless".into(), AttrValue::Bool(rng.chance(70)));
                    attributes.insert("noise_cancelling".into(), AttrValue::Bool(rng.chance(50)));
                    attributes.insert("battery_h".into(), AttrValue::Number(rng.range(6, 60) as f64));
                    description = format!("{name}: {} hours of battery.", attributes["battery_h"].display());
                    for c in &colors {
                        variants.push(Variant { sku: format!("{sku_base}-{}", slugify(c).to_uppercase()), options: opts(&[("color", c)]), price: Money::shop(base_price), stock: stock(&mut rng) });
                    }
                }
            }
        }
        "books" => {
            let author = *rng.pick(AUTHORS);
            let title = format!("The {} {}", rng.pick(BOOK_WORDS), rng.pick(BOOK_WORDS));
            name = format!("{title} — {noun}");
            primary_color = rng.pick(COLORS).1;
            attributes.insert("author".into(), AttrValue::Text(author.into()));
            attributes.insert("pages".into(), AttrValue::Number(rng.range(120, 900) as f64));
            attributes.insert("language".into(), AttrValue::Text((*rng.pick(&["English", "Romanian", "German", "French"])).into()));
            attributes.insert("year".into(), AttrValue::Number(rng.range(1990, 2026) as f64));
            attributes.insert("tags".into(), AttrValue::List(rng.subset(&["bestseller".to_string(), "award-winner".to_string(), "new".to_string(), "classic".to_string(), "staff-pick".to_string()], 2)));
            description = format!("“{title}” by {author}. {} pages.", attributes["pages"].display());
            for (k, f) in ["Paperback", "Hardcover", "E-book"].iter().enumerate() {
                if k == 2 && rng.chance(40) {
                    continue;
                }
                variants.push(Variant {
                    sku: format!("{sku_base}-{}", &f[..2].to_uppercase()),
                    options: opts(&[("format", f)]),
                    price: Money::shop(base_price + [0, 800, -300][k]),
                    stock: if *f == "E-book" { 9999 } else { stock(&mut rng) },
                });
            }
        }
        _ => {
            let color = rng.pick(COLORS);
            primary_color = color.1;
            attributes.insert("material".into(), AttrValue::Text((*rng.pick(&["Steel", "Cast iron", "Ceramic", "Glass", "Oak", "Aluminium"])).into()));
            attributes.insert("color".into(), AttrValue::Text(color.0.into()));
            if kind.path == "home/lighting" {
                attributes.insert("wattage_w".into(), AttrValue::Number(*rng.pick(&[5.0, 8.0, 12.0, 20.0])));
                attributes.insert("dimmable".into(), AttrValue::Bool(rng.chance(50)));
            } else {
                attributes.insert("dishwasher_safe".into(), AttrValue::Bool(rng.chance(60)));
            }
            description = format!("{name} in {} — {}.", color.0.to_lowercase(), attributes["material"].display().to_lowercase());
            variants.push(Variant { sku: sku_base.clone(), options: BTreeMap::new(), price: Money::shop(base_price), stock: stock(&mut rng) });
        }
    }
    if i % 97 == 13 {
        // a few fully sold-out products
        variants.iter_mut().for_each(|v| v.stock = 0);
    }
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).single().unwrap_or_else(Utc::now);
    let created = base - ChronoDuration::minutes(rng.range(0, 60 * 24 * 365));
    let popularity = {
        let r = rng.below(1000) as i64;
        (r * r * r) / 1_000_000 + rng.range(0, 20)
    };
    let slug = format!("{}-{}", slugify(&name), i);
    let key = image_key(&id);
    let product = Product {
        images: vec![Image { url: key, alt: name.clone(), thumb_url: None }],
        id,
        slug,
        name,
        description,
        brand,
        category: kind.path.to_string(),
        attributes,
        variants,
        status: ProductStatus::Active,
        popularity,
        // books and food are taxed at the reduced rate
        vat_rate: if matches!(top, "books" | "food") { 11 } else { 21 },
        vat_exemption: None,
        created_at: created,
        updated_at: created,
    };
    (product, primary_color)
}

fn image_key(id: &str) -> String {
    format!("products/{id}/1.svg")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A product picture drawn as SVG: a tinted card with a category glyph and the name.
pub fn product_svg(product: &Product, color: &str) -> String {
    let glyph = match product.category.split('/').next().unwrap_or("") {
        "clothing" => "M150 70 L190 55 L215 80 L200 100 L190 92 L190 190 L110 190 L110 92 L100 100 L85 80 L110 55 Z",
        "shoes" => "M70 160 L80 110 L120 115 L150 140 L225 150 Q235 160 230 175 L75 175 Z",
        "electronics" => "M80 70 H220 V160 H80 Z M60 165 H240 L230 180 H70 Z",
        "books" => "M95 60 H200 V190 H95 Q85 190 85 180 V70 Q85 60 95 60 Z M105 60 V190",
        _ => "M150 60 Q190 60 190 110 Q190 150 150 190 Q110 150 110 110 Q110 60 150 60 Z",
    };
    let light = matches!(color, "#f2f2f2" | "#d9c7a7" | "#f0c93a");
    let stroke = if light { "#333" } else { "#fff" };
    let title: String = product.name.chars().take(34).collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 300" width="600" height="600"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{color}"/><stop offset="1" stop-color="{color}" stop-opacity="0.7"/></linearGradient></defs><rect width="300" height="300" fill="#f4f1ec"/><circle cx="150" cy="125" r="92" fill="url(#g)"/><path d="{glyph}" fill="none" stroke="{stroke}" stroke-width="6" stroke-linejoin="round"/><text x="150" y="262" font-family="system-ui,sans-serif" font-size="15" text-anchor="middle" fill="#333">{}</text></svg>"##,
        xml_escape(&title)
    )
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Image(#[from] crate::ports::ImageError),
}

/// Seeds `count` demo products (in batches), their categories and images.
pub async fn seed(store: &Arc<dyn CatalogStore>, images: &Arc<dyn ImageStore>, count: u64, reset: bool) -> Result<u64, SeedError> {
    if reset {
        store.reset().await?;
        images.clear().await?;
    }
    let cats: Vec<Category> = CATEGORIES.iter().map(|(p, n)| Category { path: p.to_string(), name: n.to_string() }).collect();
    store.upsert_categories(&cats).await?;
    let mut batch = Vec::with_capacity(500);
    for i in 0..count {
        let (mut p, color) = demo_product_and_color(i);
        let svg = product_svg(&p, color);
        if let Some(img) = p.images.first_mut() {
            img.url = images.put(&img.url, svg.into_bytes(), "image/svg+xml").await?;
        }
        batch.push(p);
        if batch.len() == 500 {
            store.upsert_products(&batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.upsert_products(&batch).await?;
    }
    Ok(count)
}

// ------------------------------------------------------------------ order history

/// Categories whose products go together: accessories with laptops and
/// phones, matching clothes, a lamp with a desk, books by the same shelf.
const AFFINITY: &[(&str, &[&str])] = &[
    ("electronics/laptops", &["electronics/headphones", "home/lighting", "books/non-fiction"]),
    ("electronics/phones", &["electronics/headphones", "electronics/phones"]),
    ("electronics/headphones", &["electronics/phones", "electronics/laptops"]),
    ("clothing/t-shirts", &["clothing/jeans", "clothing/hoodies", "shoes/sneakers"]),
    ("clothing/jeans", &["clothing/t-shirts", "shoes/sneakers", "shoes/boots"]),
    ("clothing/jackets", &["shoes/boots", "clothing/hoodies", "clothing/jeans"]),
    ("clothing/hoodies", &["clothing/t-shirts", "clothing/jeans"]),
    ("shoes/sneakers", &["clothing/t-shirts", "clothing/jeans"]),
    ("shoes/boots", &["clothing/jackets", "clothing/jeans"]),
    ("home/kitchen", &["home/kitchen", "home/lighting"]),
    ("home/lighting", &["home/lighting", "home/kitchen"]),
    ("books/fiction", &["books/fiction", "books/non-fiction"]),
    ("books/non-fiction", &["books/non-fiction", "books/fiction"]),
];

/// One generated order: who, when, which products (indices into the catalog), in what state.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryOrder {
    pub customer: u64,
    pub at: chrono::DateTime<Utc>,
    pub items: Vec<usize>,
    pub status: crate::domain::order::OrderStatus,
}

/// A plausible order history with real co-purchase structure: each
/// product has a few partners in the categories that go with it, drawn
/// from `seed`; an order starts from a product (popular ones more often),
/// adds some of its partners, and now and then something unrelated. A
/// different `seed` gives a different history (other partners, other shoppers).
pub fn demo_history(products: &[Product], seed: u64, orders: usize, now: chrono::DateTime<Utc>) -> Vec<HistoryOrder> {
    use crate::domain::order::OrderStatus;
    let mut rng = Rng::new(seed ^ 0x0bad_cafe);
    let mut by_category: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in products.iter().enumerate().filter(|(_, p)| p.status == ProductStatus::Active) {
        by_category.entry(p.category.as_str()).or_default().push(i);
    }
    let partners: Vec<Vec<usize>> = products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cats = AFFINITY.iter().find(|(c, _)| *c == p.category).map(|(_, with)| *with).unwrap_or(&[]);
            let mut out = Vec::new();
            for (j, cat) in cats.iter().cycle().take(3).enumerate() {
                let Some(pool) = by_category.get(cat) else { continue };
                let mut h = Rng::new(seed.wrapping_mul(31).wrapping_add((i * 7 + j) as u64));
                let pick = pool[h.below(pool.len() as u64) as usize];
                if pick != i && !out.contains(&pick) {
                    out.push(pick);
                }
            }
            out
        })
        .collect();
    let active: Vec<usize> = by_category.values().flatten().copied().collect();
    if active.is_empty() {
        return Vec::new();
    }
    // anchors: a seeded shuffle, the first ones chosen more often (a mild long tail)
    let anchors = rng.subset(&active, active.len());
    let mut order_of: Vec<usize> = (0..anchors.len()).collect();
    for k in (1..order_of.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        order_of.swap(k, j);
    }
    let customers = (orders as u64 / 3).max(1);
    let mut out = Vec::with_capacity(orders);
    for n in 0..orders {
        // the first half of the anchors take about three quarters of the orders
        let slot = if rng.chance(50) { rng.below((anchors.len() as u64).div_ceil(2)) } else { rng.below(anchors.len() as u64) } as usize;
        let anchor = anchors[order_of[slot]];
        let mut items = vec![anchor];
        for &p in &partners[anchor] {
            if rng.chance(55) {
                items.push(p);
            }
        }
        if rng.chance(25) {
            let extra = *rng.pick(&active);
            if !items.contains(&extra) {
                items.push(extra);
            }
        }
        let status = match rng.below(100) {
            0..=5 => OrderStatus::Cancelled,
            6..=9 => OrderStatus::Placed,
            10..=24 => OrderStatus::Shipped,
            _ => OrderStatus::Delivered,
        };
        // a customer's orders spread over 120 days; later order numbers are newer
        let minutes = ((orders - n) as i64 * 120 * 24 * 60) / orders.max(1) as i64;
        let at = now - ChronoDuration::minutes(minutes + rng.range(0, 59));
        out.push(HistoryOrder { customer: rng.below(customers), at, items, status });
    }
    out
}

/// The history as the recommendation job sees it (cancelled orders left out).
pub fn history_baskets(products: &[Product], history: &[HistoryOrder]) -> Vec<crate::domain::recommend::Basket> {
    use crate::domain::order::OrderStatus;
    history
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(h.status, OrderStatus::Cancelled | OrderStatus::Expired))
        .map(|(n, h)| crate::domain::recommend::Basket {
            order_id: format!("h{n:07}"),
            customer: format!("c{}", h.customer),
            at: h.at,
            products: h.items.iter().map(|&i| products[i].id.clone()).collect(),
        })
        .collect()
}

/// Stores a demo history as orders (of demo customers with guest e-mails
/// at `example.com`), priced with `pricing`; their stock is history, so the
/// inventory is left as it is. Returns how many were stored.
pub async fn seed_history(orders: &Arc<dyn crate::ports::OrderStore>, products: &[Product], history: &[HistoryOrder], pricing: &crate::domain::order::PricingRules) -> Result<usize, StoreError> {
    use crate::domain::order::{order_number, Address, Order, OrderLine, ShippingMethod, StatusChange};
    use crate::domain::payment::{Payment, PaymentMethod, PaymentStatus};
    let mut stored = 0;
    for h in history {
        let lines: Vec<OrderLine> = h
            .items
            .iter()
            .filter_map(|&i| {
                let p = &products[i];
                let v = p.variants.iter().find(|v| v.stock > 0).or(p.variants.first())?;
                Some(OrderLine { discount_cents: 0, vat_rate: Some(p.vat_rate),
                    sku: v.sku.clone(),
                    product_id: p.id.clone(),
                    slug: p.slug.clone(),
                    name: p.name.clone(),
                    options: v.options.clone(),
                    unit_price: v.price.clone(),
                    quantity: 1,
                    line_total: v.price.clone(),
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let totals = pricing.totals(&lines.iter().map(|l| (l.line_total.amount, l.vat_rate.unwrap_or(pricing.vat_percent))).collect::<Vec<_>>(), ShippingMethod::Standard);
        let number = orders.next_order_number().await?;
        let mut payment = Payment::new(PaymentMethod::Cod, &Money::shop(totals.total));
        if h.status == crate::domain::order::OrderStatus::Delivered {
            payment.status = PaymentStatus::Paid;
        }
        let email = format!("client{}@example.com", h.customer);
        let order = Order { discount_cents: 0, coupon: None, discounts: vec![],
            id: format!("o_demo{number:06}"),
            number: order_number(number),
            user_id: format!("guest_{}", &crate::services::accounts::sha256_hex(&format!("vitrina guest {email}"))[..32]),
            lines,
            currency: crate::domain::money::shop_currency().into(),
            subtotal: Money::shop(totals.subtotal),
            shipping: Money::shop(totals.shipping),
            shipping_method: ShippingMethod::Standard,
            vat: Money::shop(totals.vat),
            vat_percent: pricing.vat_percent,
            total: Money::shop(totals.total),
            shipping_address: {
                let (city, county) = [("București", "RO-B"), ("Cluj-Napoca", "RO-CJ"), ("Iași", "RO-IS"), ("Timișoara", "RO-TM"), ("Brașov", "RO-BV"), ("Constanța", "RO-CT")][(h.customer % 6) as usize];
                Address {
                    name: format!("Client {}", h.customer),
                    street: format!("Strada Exemplu {}", 1 + h.customer % 90),
                    city: city.into(),
                    postal_code: format!("{:06}", 10_000 + h.customer * 7 % 900_000),
                    country: "RO".into(),
                    phone: format!("07{:08}", h.customer * 7919 % 100_000_000),
                    county: county.into(),
                    sector: (county == "RO-B").then_some(1 + (h.customer % 6) as u8),
                }
            },
            billing: None,
            payment_method: PaymentMethod::Cod.as_str().into(),
            payment,
            status: h.status,
            history: vec![StatusChange { status: h.status, at: h.at }],
            idempotency_key: None,
            request_hash: String::new(),
            guest_email: Some(email),
            returns: vec![],
            returns_version: 0,
            returns_open: 0,
            created_at: h.at,
            updated_at: h.at,
        };
        orders.insert_order(&order).await?;
        stored += 1;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn demo_catalog_is_deterministic_and_varied() {
        assert_eq!(demo_product(42), demo_product(42));
        let products: Vec<Product> = (0..2000).map(demo_product).collect();
        let slugs: HashSet<_> = products.iter().map(|p| p.slug.clone()).collect();
        assert_eq!(slugs.len(), 2000, "slugs are unique");
        let skus: Vec<_> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.clone())).collect();
        let unique: HashSet<_> = skus.iter().collect();
        assert_eq!(unique.len(), skus.len(), "SKUs are unique");
        let cats: HashSet<_> = products.iter().map(|p| p.category.clone()).collect();
        assert!(cats.len() >= 12, "{cats:?}");
        assert!(products.iter().any(|p| p.attributes.contains_key("ram_gb")));
        assert!(products.iter().any(|p| p.attributes.contains_key("author")));
        assert!(products.iter().any(|p| !p.in_stock()));
        assert!(products.iter().any(|p| p.in_stock() && p.variants.iter().any(|v| v.stock == 0)));
        assert!(products.iter().all(|p| !p.variants.is_empty() && p.min_price().amount > 0));
        assert!(products.iter().all(|p| crate::domain::category::CategoryPath::is_valid(&p.category)));
    }

    #[test]
    fn the_demo_history_has_co_purchase_structure_that_beats_best_sellers() {
        let products: Vec<Product> = (0..2000).map(demo_product).collect();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().unwrap();
        let history = demo_history(&products, 1, 7000, now);
        assert_eq!(history, demo_history(&products, 1, 7000, now), "deterministic");
        assert_ne!(history, demo_history(&products, 2, 7000, now), "another seed, another history");
        let baskets = history_baskets(&products, &history);
        assert!(baskets.len() < history.len(), "cancelled orders do not count");
        let (table, stats) = crate::domain::recommend::complements(&baskets);
        assert!(stats.with_complements > 1800, "nearly every product gets complements: {stats:?}");
        // a laptop's complements are accessories, not random products
        let laptop = products.iter().find(|p| p.category == "electronics/laptops" && table.contains_key(&p.id)).unwrap();
        let first = products.iter().find(|p| p.id == table[&laptop.id][0].id).unwrap();
        assert!(["electronics/headphones", "home/lighting", "books/non-fiction"].contains(&first.category.as_str()), "{}", first.category);
        let (train, cases) = crate::domain::recommend::hold_out_last(&baskets);
        let (trained, _) = crate::domain::recommend::complements(&train);
        let popular = crate::domain::recommend::most_popular(&train);
        let co = crate::domain::recommend::evaluate(&cases, 10, |c| {
            let lists: Vec<_> = c.context.iter().filter_map(|p| trained.get(p).cloned()).collect();
            crate::domain::recommend::merge(&lists).into_iter().map(|s| s.id).filter(|p| !c.context.contains(p)).take(10).collect()
        });
        let base = crate::domain::recommend::evaluate(&cases, 10, |c| popular.iter().filter(|p| !c.context.contains(p)).take(10).cloned().collect());
        assert!(co.hit_rate > base.hit_rate * 2.0, "co-purchase {co:?} vs best sellers {base:?}");
    }

    #[test]
    fn svg_is_escaped() {
        let mut p = demo_product(1);
        p.name = "A <b> & \"c\"".into();
        let svg = product_svg(&p, "#fff");
        assert!(svg.contains("A &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(svg.starts_with("<svg"));
    }
}
