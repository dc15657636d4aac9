//! Products and orders as CSV: export both, import products with a dry run
//! that reports every problem by line before anything is written.
//!
//! Product files have one row per variant:
//! `product_id,slug,name,description,brand,category,status,attributes,sku,options,price,stock,stock_expected,vat_rate,vat_exemption`
//! (`vat_rate` 21, 11 or 0, empty for 21; `vat_exemption` the reason a 0 % product is exempt).
//! `stock_expected` is the stock at export time: change `stock` to change it
//! (written only if the stock is still `stock_expected`, else the line is
//! refused: it moved, export again). An existing SKU without
//! `stock_expected` keeps its stock; a new SKU starts with `stock`.
//! Rows of one product share its slug (or, without a slug, its name); the
//! product's own fields are read from its first row. `attributes` is a JSON
//! object, `options` is `size=M; color=Red`, `price` is a decimal in the shop's currency.
use std::collections::BTreeMap;

use crate::domain::import::{ImportReport, LineError};
use crate::domain::money::{parse_decimal, to_decimal, Money};
use crate::domain::product::{AttrValue, Product, ProductInput, ProductStatus, Variant};
use crate::domain::query::CatalogQuery;
use crate::ports::{OrderFilter, OrderStore, StoreError, UserStore};
use crate::services::admin::{AdminCatalog, AdminError};
use crate::services::audit::Actor;

pub const PRODUCT_COLUMNS: [&str; 15] = ["product_id", "slug", "name", "description", "brand", "category", "status", "attributes", "sku", "options", "price", "stock", "stock_expected", "vat_rate", "vat_exemption"];

/// At most this many lines are read from one import.
pub const MAX_IMPORT_LINES: usize = 20_000;

/// Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return as a formula (OWASP "CSV injection"): such a cell is
/// written with a leading `'`, which spreadsheets show as text. A cell that
/// starts with `'` gets one more, so `unneutralise` reads back exactly what
/// was written.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The cell as it was before `neutralise`.
pub fn unneutralise(cell: &str) -> &str {
    let mut chars = cell.chars();
    match (chars.next(), chars.next()) {
        (Some('\''), Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'')) => &cell[1..],
        _ => cell,
    }
}

/// Writes one record with every cell neutralised.
fn write_row<I, T>(w: &mut csv::Writer<Vec<u8>>, cells: I) -> Result<(), StoreError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    w.write_record(cells.into_iter().map(|c| neutralise(c.as_ref()).into_owned())).map_err(csv_err)
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, StoreError> {
    let bytes = w.into_inner().map_err(|e| StoreError::Other(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Other(e.to_string()))
}

fn csv_err(e: csv::Error) -> StoreError {
    StoreError::Other(format!("csv: {e}"))
}

pub fn options_text(options: &BTreeMap<String, String>) -> String {
    options.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

fn parse_options(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("write options as key=value; key=value (got {part:?})"))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// Rows for one product (one per variant).
fn product_rows(p: &Product) -> Vec<Vec<String>> {
    let attributes = serde_json::to_string(&p.attributes).unwrap_or_else(|_| "{}".into());
    p.variants
        .iter()
        .map(|v| {
            vec![
                p.id.clone(), p.slug.clone(), p.name.clone(), p.description.clone(), p.brand.clone(), p.category.clone(), p.status.as_str().to_string(), attributes.clone(),
                v.sku.clone(), options_text(&v.options), to_decimal(v.price.amount), v.stock.to_string(), v.stock.to_string(),
                p.vat_rate.to_string(), p.vat_exemption.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// Every product of every status, one row per variant.
pub async fn export_products(admin: &AdminCatalog) -> Result<String, AdminError> {
    let mut w = writer();
    w.write_record(PRODUCT_COLUMNS).map_err(csv_err)?;
    let mut page = 1;
    loop {
        let query = CatalogQuery { page, per_page: 100, sort: crate::domain::query::Sort::Newest, ..Default::default() };
        let result = admin.list(query, None).await?;
        for item in &result.items {
            if let Ok(p) = admin.get(&item.id).await {
                for row in product_rows(&p) {
                    write_row(&mut w, &row)?;
                }
            }
        }
        if result.items.is_empty() || (page as u64) * 100 >= result.total {
            break;
        }
        page += 1;
    }
    Ok(finish(w)?)
}

/// Every order (newest first) matching the filter, one row per order.
pub async fn export_orders(orders: &dyn OrderStore, users: &dyn UserStore, filter: Option<&OrderFilter>) -> Result<String, StoreError> {
    let mut w = writer();
    w.write_record(["number", "id", "created_at", "status", "customer_email", "customer_name", "items", "subtotal", "shipping", "vat", "total", "currency", "shipping_method", "city", "country"])
        .map_err(csv_err)?;
    let Some(filter) = filter else { return finish(w) };
    let mut emails: BTreeMap<String, String> = BTreeMap::new();
    let mut offset = 0;
    loop {
        let (page, total) = orders.list_orders(filter, offset, 500).await?;
        // each page's new customers in one read
        let unknown: Vec<crate::domain::order::Order> = page.iter().filter(|o| !emails.contains_key(&o.user_id)).cloned().collect();
        let found = crate::services::admin::customer_emails(users, &unknown).await?;
        for o in &unknown {
            emails.insert(o.user_id.clone(), found.get(&o.user_id).cloned().unwrap_or_default());
        }
        for o in &page {
            let items: i64 = o.lines.iter().map(|l| l.quantity).sum();
            write_row(&mut w, [
                o.number.clone(), o.id.clone(), o.created_at.to_rfc3339(), o.status.as_str().to_string(), o.guest_email.clone().filter(|_| emails[&o.user_id].is_empty()).unwrap_or_else(|| emails[&o.user_id].clone()), o.shipping_address.name.clone(), items.to_string(),
                to_decimal(o.subtotal.amount), to_decimal(o.shipping.amount), to_decimal(o.vat.amount), to_decimal(o.total.amount), o.currency.clone(),
                o.shipping_method.as_str().to_string(), o.shipping_address.city.clone(), o.shipping_address.country.clone(),
            ])?;
        }
        offset += page.len() as u64;
        if page.is_empty() || offset >= total {
            break;
        }
    }
    finish(w)
}

/// One product gathered from its rows.
struct Parsed {
    first_line: u64,
    /// The SKUs in line order (the input moves into the write).
    input_skus: Vec<String>,
    variant_lines: Vec<u64>,
    product_id: String,
    input: ProductInput,
}

fn col<'a>(record: &'a csv::StringRecord, headers: &BTreeMap<String, usize>, name: &str) -> &'a str {
    unneutralise(headers.get(name).and_then(|&i| record.get(i)).unwrap_or("")).trim()
}

/// Reads the file into products; problems are collected per line.
fn parse_products(text: &str, errors: &mut Vec<LineError>) -> Vec<Parsed> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers: BTreeMap<String, usize> = match reader.headers() {
        Ok(h) => h.iter().enumerate().map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase(), i)).collect(),
        Err(e) => {
            errors.push(LineError { line: 1, field: "header".into(), message: format!("cannot read the header: {e}") });
            return vec![];
        }
    };
    for required in ["name", "category", "sku", "price"] {
        if !headers.contains_key(required) {
            errors.push(LineError { line: 1, field: required.into(), message: format!("the header needs a {required} column (columns: {})", PRODUCT_COLUMNS.join(",")) });
        }
    }
    if !errors.is_empty() {
        return vec![];
    }
    let mut products: Vec<Parsed> = Vec::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        if n >= MAX_IMPORT_LINES {
            errors.push(LineError { line, field: "file".into(), message: format!("at most {MAX_IMPORT_LINES} lines per import") });
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(LineError { line, field: "line".into(), message: format!("cannot read: {e}") });
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |name: &str| col(&record, &headers, name).to_string();
        let mut fail = |field: &str, message: String| errors.push(LineError { line, field: field.into(), message });
        let price = match parse_decimal(&get("price")) {
            Some(p) => p,
            None => {
                fail("price", format!("{:?} is not a price such as 19.99", get("price")));
                0
            }
        };
        let stock_text = get("stock");
        let stock = if stock_text.is_empty() {
            0
        } else {
            match stock_text.parse::<i64>() {
                Ok(s) if s >= 0 => s,
                _ => {
                    fail("stock", format!("{stock_text:?} is not a whole number of 0 or more"));
                    0
                }
            }
        };
        let expected_text = get("stock_expected");
        let expected = match expected_text.parse::<i64>() {
            _ if expected_text.is_empty() => None,
            Ok(s) if s >= 0 => Some(s),
            _ => {
                fail("stock_expected", format!("{expected_text:?} is not a whole number of 0 or more"));
                None
            }
        };
        let options = parse_options(&get("options")).unwrap_or_else(|m| {
            fail("options", m);
            BTreeMap::new()
        });
        let variant = Variant { sku: get("sku"), options, price: Money::shop(price), stock };
        let expect = |input: &mut ProductInput| {
            if let Some(e) = expected {
                input.stock_expected.get_or_insert_with(BTreeMap::new).insert(variant.sku.clone(), e);
            }
        };
        let key = [get("slug"), get("product_id"), get("name")].into_iter().find(|k| !k.is_empty()).unwrap_or_default().to_lowercase();
        if let Some(&i) = by_key.get(&key).filter(|_| !key.is_empty()) {
            expect(&mut products[i].input);
            products[i].input.variants.push(variant);
            products[i].variant_lines.push(line);
            continue;
        }
        let status = match get("status").as_str() {
            "" => ProductStatus::Active,
            s => ProductStatus::parse(s).unwrap_or_else(|| {
                fail("status", format!("{s:?} is not draft, active or archived"));
                ProductStatus::Draft
            }),
        };
        let attributes: BTreeMap<String, AttrValue> = match get("attributes").as_str() {
            "" => BTreeMap::new(),
            a => serde_json::from_str(a).unwrap_or_else(|e| {
                fail("attributes", format!("must be a JSON object such as {{\"material\": \"cotton\"}} ({e})"));
                BTreeMap::new()
            }),
        };
        let vat_rate = match get("vat_rate").trim().trim_end_matches('%') {
            "" => crate::domain::product::standard_vat_rate(),
            r => r.trim().parse::<i64>().unwrap_or_else(|_| {
                fail("vat_rate", format!("{r:?} is not a VAT rate: 21, 11 or 0"));
                crate::domain::product::standard_vat_rate()
            }),
        };
        let vat_exemption = Some(get("vat_exemption")).filter(|r| !r.trim().is_empty());
        let slug = get("slug");
        let input = ProductInput {
            name: get("name"),
            slug: (!slug.is_empty()).then_some(slug),
            description: get("description"),
            brand: get("brand"),
            category: get("category"),
            status,
            attributes,
            variants: vec![],
            stock_expected: None,
            vat_rate,
            vat_exemption,
        };
        let mut input = input;
        expect(&mut input);
        input.variants.push(variant);
        by_key.insert(key, products.len());
        products.push(Parsed { first_line: line, input_skus: vec![], variant_lines: vec![line], product_id: get("product_id"), input });
    }
    for p in &mut products {
        p.input_skus = p.input.variants.iter().map(|v| v.sku.clone()).collect();
    }
    products
}

/// The line a validation error belongs to: a variant's own row, else the product's first.
fn line_of(p: &Parsed, field: &str) -> (u64, String) {
    if let Some(rest) = field.strip_prefix("variants.") {
        if let Some((i, sub)) = rest.split_once('.') {
            if let Some(&line) = i.parse::<usize>().ok().and_then(|i| p.variant_lines.get(i)) {
                return (line, sub.split('.').next().unwrap_or(sub).to_string());
            }
        }
    }
    (p.first_line, field.split('.').next().unwrap_or(field).to_string())
}

/// Checks the whole file; writes it only when `dry_run` is false and no line has a problem.
pub async fn import_products(admin: &AdminCatalog, actor: &Actor, text: &str, dry_run: bool) -> Result<ImportReport, AdminError> {
    let mut report = ImportReport { dry_run, ..Default::default() };
    let parsed = parse_products(text, &mut report.errors);
    report.products = parsed.len() as u64;
    if parsed.is_empty() && report.errors.is_empty() {
        report.errors.push(LineError { line: 1, field: "file".into(), message: "the file has no products".into() });
    }
    // which products exist already (by id, then by slug)
    let mut targets: Vec<Option<String>> = Vec::with_capacity(parsed.len());
    let mut skus_seen: BTreeMap<String, u64> = BTreeMap::new();
    for p in &parsed {
        if let Err(field_errors) = p.input.validate() {
            for e in field_errors {
                let (line, field) = line_of(p, &e.field);
                report.errors.push(LineError { line, field, message: e.message });
            }
        }
        for (v, line) in p.input.variants.iter().zip(&p.variant_lines) {
            if let Some(first) = skus_seen.insert(v.sku.clone(), *line) {
                report.errors.push(LineError { line: *line, field: "sku".into(), message: format!("{} is already used on line {first}", v.sku) });
            }
        }
        let existing = if !p.product_id.is_empty() {
            match admin.get(&p.product_id).await {
                Ok(found) => Some(found),
                Err(AdminError::NotFound) => {
                    report.errors.push(LineError { line: p.first_line, field: "product_id".into(), message: format!("no product has id {}", p.product_id) });
                    None
                }
                Err(e) => return Err(e),
            }
        } else if let Some(slug) = &p.input.slug {
            admin.by_slug(slug).await?
        } else {
            None
        };
        match &existing {
            Some(_) => report.updates += 1,
            None => report.creates += 1,
        }
        targets.push(existing.map(|e| e.id));
    }
    report.errors.sort_by(|a, b| a.line.cmp(&b.line).then(a.field.cmp(&b.field)));
    if dry_run || !report.errors.is_empty() {
        return Ok(report);
    }
    for (p, target) in parsed.into_iter().zip(targets) {
        let result = match target {
            Some(id) => admin.update(actor, &id, p.input).await,
            None => admin.create(actor, p.input).await,
        };
        match result {
            Ok(_) => {}
            Err(AdminError::Invalid(errors)) => report.errors.extend(errors.into_iter().map(|e| LineError { line: p.first_line, field: e.field, message: e.message })),
            Err(AdminError::Conflict(m)) => report.errors.push(LineError { line: p.first_line, field: "sku".into(), message: m }),
            Err(AdminError::StockMoved(moved)) => report.errors.extend(moved.iter().map(|m| LineError {
                line: p.variant_lines.get(p.input_skus.iter().position(|s| *s == m.sku).unwrap_or(0)).copied().unwrap_or(p.first_line),
                field: "stock".into(),
                message: m.message(),
            })),
            Err(e) => return Err(e),
        }
    }
    report.applied = report.errors.is_empty();
    admin.audit().record::<()>(actor, "products.import", "csv", format!("imported {} products ({} new, {} updated)", report.products, report.creates, report.updates), None, None).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_each_bad_line_and_groups_variants() {
        let text = "slug,name,category,attributes,sku,options,price,stock\n\
            tee,Tee,clothing/t-shirts,\"{\"\"fit\"\": \"\"slim\"\"}\",T-S,size=S,19.99,3\n\
            tee,Tee,clothing/t-shirts,,T-M,size=M,abc,2\n\
            mug,Mug,home,{bad,M-1,,5,-1\n";
        let mut errors = vec![];
        let parsed = parse_products(text, &mut errors);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].input.variants.len(), 2);
        assert_eq!(parsed[0].variant_lines, vec![2, 3]);
        assert_eq!(parsed[0].input.attributes.get("fit"), Some(&AttrValue::Text("slim".into())));
        let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(got, vec![(3, "price"), (4, "stock"), (4, "attributes")]);
        assert_eq!(line_of(&parsed[0], "variants.1.price"), (3, "price".to_string()));
        assert_eq!(line_of(&parsed[0], "attributes.fit"), (2, "attributes".to_string()));
    }

    #[test]
    fn formula_cells_are_neutralised_and_read_back() {
        for cell in ["=1+1", "+33 6", "-5", "@SUM(A1)", "\tx", "\rx", "'quoted", "'=x", "plain", ""] {
            let written = neutralise(cell);
            assert!(!written.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?} -> {written:?}");
            assert_eq!(unneutralise(&written), cell);
        }
        let mut w = writer();
        write_row(&mut w, ["=HYPERLINK(\"http://x\")", "ok"]).unwrap();
        let text = finish(w).unwrap();
        assert!(text.starts_with("\"'=HYPERLINK"), "{text}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let mut errors = vec![];
        assert!(parse_products("name,sku\nA,B\n", &mut errors).is_empty());
        assert!(errors.iter().any(|e| e.field == "category" && e.line == 1));
    }
}
