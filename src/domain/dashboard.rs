//! What the admin dashboard shows, computed from orders (pure).
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::order::{Order, OrderStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFigure {
    pub day: NaiveDate,
    pub orders: u64,
    /// Revenue in minor units (cancelled orders excluded).
    pub revenue: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopProduct {
    pub product_id: String,
    pub slug: String,
    pub name: String,
    pub quantity: i64,
    pub revenue: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowStock {
    pub sku: String,
    pub product_id: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub stock: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Oldest first, one entry per day (days without orders included), today last.
    pub days: Vec<DayFigure>,
    pub today: DayFigure,
    pub currency: String,
    pub top_products: Vec<TopProduct>,
    pub low_stock: Vec<LowStock>,
    /// Orders placed and not yet confirmed, oldest first.
    pub waiting: Vec<Order>,
    pub waiting_total: u64,
    /// True when more orders fell in the window than were read.
    pub truncated: bool,
    /// The newest `vitrina backup` of this shop, if any.
    #[serde(default)]
    pub last_backup: Option<LastBackup>,
    /// No backup in the last [`BACKUP_OVERDUE_HOURS`] hours (or none at all).
    #[serde(default)]
    pub backup_overdue: bool,
}

/// A shop should be backed up at least daily; a little slack for the schedule.
pub const BACKUP_OVERDUE_HOURS: i64 = 26;

/// Whether the newest backup (if any) is too old at `now`.
pub fn backup_overdue(last: Option<&LastBackup>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|b| now - b.at > Duration::hours(BACKUP_OVERDUE_HOURS))
}

/// What `vitrina backup` records when it has written an archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LastBackup {
    pub at: DateTime<Utc>,
    pub bytes: u64,
    /// The archive's file name (no directories: the panel is not a file browser).
    pub file: String,
}

/// Orders and revenue per day for the `days` days ending `today` (UTC),
/// and the best-selling products by quantity. Cancelled orders, and orders
/// that expired unpaid, count neither as orders nor as revenue.
pub fn sales_by_day(orders: &[Order], today: NaiveDate, days: u32, top: usize) -> (Vec<DayFigure>, Vec<TopProduct>) {
    let first = today - Duration::days(days as i64 - 1);
    let mut per_day: Vec<DayFigure> = (0..days as i64).map(|i| DayFigure { day: first + Duration::days(i), orders: 0, revenue: 0 }).collect();
    let mut products: BTreeMap<String, TopProduct> = BTreeMap::new();
    for o in orders.iter().filter(|o| !matches!(o.status, OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Pending)) {
        let day = o.created_at.date_naive();
        if day < first || day > today {
            continue;
        }
        let slot = &mut per_day[(day - first).num_days() as usize];
        slot.orders += 1;
        slot.revenue += o.total.amount;
        for l in &o.lines {
            let p = products.entry(l.product_id.clone()).or_insert_with(|| TopProduct { product_id: l.product_id.clone(), slug: l.slug.clone(), name: l.name.clone(), quantity: 0, revenue: 0 });
            p.quantity += l.quantity;
            p.revenue += l.line_total.amount;
        }
    }
    let mut top_products: Vec<TopProduct> = products.into_values().collect();
    top_products.sort_by(|a, b| b.quantity.cmp(&a.quantity).then(b.revenue.cmp(&a.revenue)).then(a.name.cmp(&b.name)));
    top_products.truncate(top);
    (per_day, top_products)
}

/// The start of the first day of the window (for the store query).
pub fn window_start(today: NaiveDate, days: u32) -> DateTime<Utc> {
    (today - Duration::days(days as i64 - 1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_backup_is_overdue_after_a_day_and_a_bit_or_when_there_is_none() {
        let now: DateTime<Utc> = "2026-12-03T12:00:00Z".parse().unwrap();
        let at = |h: i64| LastBackup { at: now - Duration::hours(h), bytes: 1, file: "b.tar.gz".into() };
        assert!(backup_overdue(None, now));
        assert!(!backup_overdue(Some(&at(25)), now));
        assert!(backup_overdue(Some(&at(27)), now));
    }

    use super::*;
    use crate::domain::money::Money;
    use crate::domain::order::{Address, OrderLine, ShippingMethod};

    fn order(at: &str, status: OrderStatus, lines: &[(&str, i64, i64)]) -> Order {
        let at: DateTime<Utc> = at.parse().unwrap();
        let lines: Vec<OrderLine> = lines
            .iter()
            .map(|(p, q, unit)| OrderLine { discount_cents: 0, vat_rate: None, sku: format!("{p}-S"), product_id: p.to_string(), slug: p.to_string(), name: p.to_uppercase(), options: Default::default(), unit_price: Money::shop(*unit), quantity: *q, line_total: Money::shop(unit * q) })
            .collect();
        let total: i64 = lines.iter().map(|l| l.line_total.amount).sum();
        Order { discount_cents: 0, coupon: None, discounts: vec![],
            id: at.to_rfc3339(), number: "VT-1".into(), user_id: "u".into(), lines, currency: crate::domain::money::shop_currency().into(), subtotal: Money::shop(total), shipping: Money::shop(0), shipping_method: ShippingMethod::default(),
            vat: Money::shop(0), vat_percent: 21, total: Money::shop(total), shipping_address: Address::default(), billing: None, payment_method: "cod".into(), payment: Default::default(), status, history: vec![], idempotency_key: None, request_hash: String::new(), guest_email: None, returns: vec![], returns_version: 0,
            returns_open: 0, created_at: at, updated_at: at,
        }
    }

    #[test]
    fn days_are_contiguous_and_cancelled_orders_do_not_count() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let orders = vec![
            order("2026-11-27T10:00:00Z", OrderStatus::Placed, &[("a", 2, 500)]),
            order("2026-11-27T11:00:00Z", OrderStatus::Cancelled, &[("a", 9, 500)]),
            order("2026-11-27T12:00:00Z", OrderStatus::Expired, &[("a", 4, 500)]),
            order("2026-11-25T23:59:59Z", OrderStatus::Delivered, &[("b", 1, 300), ("a", 1, 500)]),
            order("2026-10-01T00:00:00Z", OrderStatus::Delivered, &[("c", 50, 100)]),
        ];
        let (days, top) = sales_by_day(&orders, today, 30, 5);
        assert_eq!(days.len(), 30);
        assert_eq!(days.last().unwrap().day, today);
        assert_eq!(days[0].day, NaiveDate::from_ymd_opt(2026, 10, 29).unwrap());
        assert_eq!((days[29].orders, days[29].revenue), (1, 1000));
        assert_eq!((days[27].orders, days[27].revenue), (1, 800));
        assert_eq!(days[28].orders, 0);
        assert_eq!(top.iter().map(|t| (t.product_id.as_str(), t.quantity)).collect::<Vec<_>>(), vec![("a", 3), ("b", 1)]);
        assert_eq!(window_start(today, 30).to_rfc3339(), "2026-10-29T00:00:00+00:00");
    }
}
