//! The admin panel under `/admin`: admins only, checked on the server by
//! every server function (`fns::admin`) and form post (`web::admin_actor`).
//! Anonymous visitors get 401 with a sign-in link, other roles 403.
pub mod audit;
pub mod documents;
pub mod import;
pub mod fns;
pub mod orders;
pub mod outbox;
pub mod products;
pub mod promotions;
pub mod users;
mod pager;
pub use pager::Pager;
#[cfg(feature = "hydrate")]
pub(crate) mod xhr;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use crate::domain::dashboard::Dashboard;
use crate::ui::fns::PageError;
use crate::ui::shop::components::{flatten, ErrorPanel};

pub(crate) fn q(key: &str) -> String {
    use_query_map().get_untracked().get(key).unwrap_or_default()
}

/// The query string of the current page (for server functions taking it whole).
pub(crate) fn query_string() -> String {
    let s = use_location().search.get_untracked();
    s.trim_start_matches('?').to_string()
}

/// What an admin page shows when its data could not be loaded: 401 with a
/// sign-in link for visitors, 403 for other roles, else the error panel.
pub(crate) fn refused(e: PageError) -> AnyView {
    match e {
        PageError::SignInRequired => {
            crate::ui::fns::set_status(401);
            let here = use_location();
            let loc = crate::ui::use_locale();
            let next = crate::ui::shop::layout::here_bare(&here.pathname.get_untracked(), &here.search.get_untracked());
            let href = loc.href(&format!("/login?next={}", urlencode(&next)));
            view! {
                <section class="auth-card" data-status="401">
                    <h1>{loc.t("error-sign-in-title")}</h1>
                    <p>{loc.t("admin-only")}</p>
                    <p><a class="button primary" href=href>{loc.t("sign-in")}</a></p>
                </section>
            }
            .into_any()
        }
        e => view! { <ErrorPanel error=e back_href=crate::ui::use_locale().href("/admin")/> }.into_any(),
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An admin page: the frame, a loading line, then `render` of the loaded data
/// (or 401 / 403 / the error panel when it could not be loaded).
pub(crate) fn admin_page<T>(
    title: &'static str,
    loading: &'static str,
    data: Resource<Result<crate::ui::fns::PageResult<T>, ServerFnError>>,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    view! {
        <Suspense fallback=move || view! { <p class="loading">{crate::ui::use_locale().t(loading)}</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match flatten(data.await) {
                        Ok(v) => view! { <AdminShell title=title>{render(v)}</AdminShell> }.into_any(),
                        Err(e) => refused(e),
                    }
                })
            }}
        </Suspense>
    }
}

/// The panel's frame: navigation on the left, the page on the right.
#[component]
pub fn AdminShell(title: &'static str, children: Children) -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    let loc = crate::ui::use_locale();
    let path = crate::i18n::Locale::split_path(&path).1.to_string();
    let link = move |href: &'static str, label: &'static str| {
        let current = if href == "/admin" { path == "/admin" } else { path.starts_with(href) };
        view! { <a href=loc.href(href) class="admin-nav-link" class:current=current aria-current=current.then_some("page")>{loc.t(label)}</a> }
    };
    view! {
        <Title text=loc.t(title)/>
        <div class="admin-layout">
            <nav class="admin-nav" aria-label=loc.t("admin-admin")>
                <p class="admin-nav-title">{crate::ui::use_locale().t("admin-admin")}</p>
                {link("/admin", "admin-dashboard")}
                {link("/admin/products", "admin-products")}
                {link("/admin/orders", "admin-orders")}
                {link("/admin/returns", "admin-returns")}
                {link("/admin/documents", "admin-documents")}
                {link("/admin/promotions", "admin-promotions")}
                {link("/admin/users", "admin-users-and-partners")}
                {link("/admin/import", "admin-import-and-export")}
                {link("/admin/audit", "admin-audit-log")}
                {link("/admin/outbox", "admin-outbox")}
                {link("/admin/webhooks", "admin-webhooks")}
                {link("/admin/invoicing", "admin-invoicing")}
                <a href="/api/docs" class="admin-nav-link muted">{crate::ui::use_locale().t("admin-api-docs")}</a>
            </nav>
            <section class="admin-main admin">{children()}</section>
        </div>
    }
}

/// Notices and errors carried back by a form post (`?notice=…`, `?error=…`).
#[component]
pub fn Flash() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let (notice, error) = (crate::ui::message(loc, &q("notice")), crate::ui::message(loc, &q("error")));
    view! {
        {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
        {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| fns::admin_dashboard());
    admin_page("admin-dashboard", "loading", data, |h| view! { <DashboardView d=h.dashboard c=h.compliance/> }.into_any())
}

/// What the law asks of the shop and is not done yet: documents ANAF has
/// not accepted 3 working days after issue, the e-Factura token running
/// out, returns to refund, the demo seller identity.
#[component]
fn ComplianceLine(c: fns::Compliance) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <div class="compliance" data-testid="compliance">
            {c.seller_demo.then(|| view! { <p class="alert" role="alert">{loc.t("admin-seller-demo")}" "<a href=loc.href("/admin/invoicing")>{loc.t("admin-invoicing")}</a></p> })}
            <documents::EfacturaBanner status=c.efactura.clone()/>
            {(c.returns_open > 0).then(|| view! {
                <p class={if c.returns_due_soon > 0 { "alert" } else { "notice" }} role="status" data-testid="returns-open">
                    {loc.tf("admin-returns-open", &[("count", &c.returns_open.to_string()), ("soon", &c.returns_due_soon.to_string())])}" "
                    <a href=loc.href("/admin/returns")>{loc.t("admin-returns")}</a>
                </p>
            })}
        </div>
    }
}

/// When the shop was last backed up, and a warning when that is too long ago.
#[component]
fn BackupLine(last: Option<crate::domain::dashboard::LastBackup>, overdue: bool) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let text = match &last {
        Some(b) => format!("{}: {} · {} · {}", loc.t("admin-last-backup"), loc.date_time(&b.at), loc.bytes(b.bytes), b.file),
        None => loc.t("admin-no-backup-yet").to_string(),
    };
    view! {
        <p class=if overdue { "backup-line overdue" } else { "backup-line" } data-testid="last-backup">
            {text}
            {overdue.then(|| view! { " " <span>{loc.t("admin-backup-overdue")}</span> " " <code>"vitrina backup --to /backups/"</code> })}
        </p>
    }
}

#[component]
fn DashboardView(d: Dashboard, c: fns::Compliance) -> impl IntoView {
    let cur = d.currency.clone();
    let month_revenue: i64 = d.days.iter().map(|x| x.revenue).sum();
    let month_orders: u64 = d.days.iter().map(|x| x.orders).sum();
    view! {
        <h1>{crate::ui::use_locale().t("admin-dashboard")}</h1>
        <div class="stats">
            <div class="stat"><span class="stat-value" data-testid="today-revenue">{format_minor(d.today.revenue, &cur)}</span><span class="stat-label">{crate::ui::use_locale().t("admin-revenue-today")}</span></div>
            <div class="stat"><span class="stat-value" data-testid="today-orders">{d.today.orders}</span><span class="stat-label">{crate::ui::use_locale().t("admin-orders-today")}</span></div>
            <div class="stat"><span class="stat-value">{format_minor(month_revenue, &cur)}</span><span class="stat-label">{crate::ui::use_locale().t("admin-last-30-days")}</span></div>
            <div class="stat"><span class="stat-value">{month_orders}</span><span class="stat-label">{crate::ui::use_locale().t("admin-orders-in-30-days")}</span></div>
            <a class="stat stat-link" href=crate::ui::use_locale().href("/admin/orders?status=placed")><span class="stat-value">{d.waiting_total}</span><span class="stat-label">{crate::ui::use_locale().t("admin-waiting-for-confirmation")}</span></a>
        </div>
        <BackupLine last=d.last_backup.clone() overdue=d.backup_overdue/>
        <ComplianceLine c=c/>
        <div class="panel chart-panel">
            <h2>{crate::ui::use_locale().t("admin-revenue-and-orders-last-30-days")}</h2>
            <SalesChart days=d.days.clone() currency=cur.clone()/>
            {d.truncated.then(|| view! { <p class="hint">{crate::ui::use_locale().t("admin-only-the-newest-50-000-orders")}</p> })}
        </div>
        <div class="dash-grid">
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-waiting-for-confirmation-2")}</h2>
                {if d.waiting.is_empty() {
                    view! { <p class="muted">{crate::ui::use_locale().t("admin-nothing-waiting-every-order-is-confirmed")}</p> }.into_any()
                } else {
                    view! {
                        <table class="data compact">
                            <thead><tr><th>{crate::ui::use_locale().t("admin-order")}</th><th>{crate::ui::use_locale().t("admin-placed")}</th><th class="num">{crate::ui::use_locale().t("admin-total")}</th></tr></thead>
                            <tbody>
                                {d.waiting.iter().map(|o| view! {
                                    <tr>
                                        <td><a href=crate::ui::use_locale().href(&format!("/admin/orders/{}", o.id))>{o.number.clone()}</a></td>
                                        <td>{crate::ui::use_locale().date_time(&o.created_at)}</td>
                                        <td class="num">{crate::ui::use_locale().price(&o.total)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p><a href=crate::ui::use_locale().href("/admin/orders?status=placed")>{crate::ui::use_locale().t("admin-all-waiting-orders")}</a></p>
                    }.into_any()
                }}
            </div>
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-low-stock")}</h2>
                {if d.low_stock.is_empty() {
                    view! { <p class="muted">{crate::ui::use_locale().t("admin-every-variant-has-more-than-5")}</p> }.into_any()
                } else {
                    view! {
                        <table class="data compact">
                            <thead><tr><th>{crate::ui::use_locale().t("admin-variant")}</th><th class="num">{crate::ui::use_locale().t("admin-stock")}</th></tr></thead>
                            <tbody>
                                {d.low_stock.iter().map(|l| view! {
                                    <tr>
                                        <td>
                                            <a href=crate::ui::use_locale().href(&format!("/admin/products/{}", l.product_id))>{l.name.clone()}</a>
                                            " " <span class="muted">{l.options.values().cloned().collect::<Vec<_>>().join(" / ")}</span>
                                            <br/><span class="muted small-text">{l.sku.clone()}</span>
                                        </td>
                                        <td class="num" class:zero=l.stock == 0>{l.stock}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </div>
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-top-products-30-days")}</h2>
                {if d.top_products.is_empty() {
                    view! { <p class="muted">{crate::ui::use_locale().t("admin-no-sales-yet-in-the-last")}</p> }.into_any()
                } else {
                    view! {
                        <table class="data compact">
                            <thead><tr><th>{crate::ui::use_locale().t("admin-product")}</th><th class="num">{crate::ui::use_locale().t("admin-sold")}</th><th class="num">{crate::ui::use_locale().t("admin-revenue")}</th></tr></thead>
                            <tbody>
                                {d.top_products.iter().map(|t| view! {
                                    <tr>
                                        <td><a href=crate::ui::use_locale().href(&format!("/admin/products/{}", t.product_id))>{t.name.clone()}</a></td>
                                        <td class="num">{t.quantity}</td>
                                        <td class="num">{format_minor(t.revenue, &cur)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </div>
        </div>
    }
}

/// Revenue bars with the order count as a line, drawn as SVG (no chart library).
#[component]
fn SalesChart(days: Vec<crate::domain::dashboard::DayFigure>, currency: String) -> impl IntoView {
    let (w, h, left, bottom, top) = (760.0_f64, 240.0_f64, 64.0_f64, 28.0_f64, 12.0_f64);
    let n = days.len().max(1) as f64;
    let max_rev = days.iter().map(|d| d.revenue).max().unwrap_or(0).max(100) as f64;
    let max_orders = days.iter().map(|d| d.orders).max().unwrap_or(0).max(1) as f64;
    let slot = (w - left) / n;
    let plot_h = h - bottom - top;
    let y_rev = move |v: f64| top + plot_h - v / max_rev * plot_h;
    let y_ord = move |v: f64| top + plot_h - v / max_orders * plot_h;
    let points: String = days.iter().enumerate().map(|(i, d)| format!("{:.1},{:.1}", left + slot * (i as f64 + 0.5), y_ord(d.orders as f64))).collect::<Vec<_>>().join(" ");
    let cur = currency.clone();
    view! {
        <svg class="sales-chart" viewBox=format!("0 0 {w} {h}") role="img" aria-label=crate::ui::use_locale().t("admin-a-revenue-per-day-for-the-last")>
            {[0.0, 0.5, 1.0].into_iter().map(|f| {
                let y = y_rev(max_rev * f);
                view! {
                    <line x1=left x2=w y1=y y2=y class="grid"/>
                    <text x=left - 6.0 y=y + 4.0 text-anchor="end" class="axis">{format_minor((max_rev * f) as i64, &cur)}</text>
                }
            }).collect_view()}
            {days.iter().enumerate().map(|(i, d)| {
                let x = left + slot * i as f64 + slot * 0.15;
                let y = y_rev(d.revenue as f64);
                let label = crate::ui::use_locale().tf("admin-chart-day", &[("day", &crate::ui::use_locale().date(&d.day)), ("revenue", &crate::ui::use_locale().money(d.revenue, &currency)), ("orders", &d.orders.to_string())]);
                let show_day = i % 5 == 4 || i + 1 == days.len();
                view! {
                    <rect x=x y=y width=slot * 0.7 height=(top + plot_h - y).max(0.0) class="bar" data-day=d.day.to_string() data-revenue=d.revenue><title>{label}</title></rect>
                    {show_day.then(|| view! { <text x=left + slot * (i as f64 + 0.5) y=h - 8.0 text-anchor="middle" class="axis">{d.day.format("%d.%m").to_string()}</text> })}
                }
            }).collect_view()}
            <polyline points=points class="orders-line"/>
        </svg>
        <p class="chart-legend"><span class="key bar-key"></span>{crate::ui::use_locale().t("admin-revenue")} <span class="key line-key"></span>{crate::ui::use_locale().tf("admin-chart-orders", &[("max", &(max_orders as u64).to_string())])}</p>
    }
}

/// An amount in the panel's language.
fn format_minor(minor: i64, currency: &str) -> String {
    crate::ui::use_locale().money(minor, currency)
}
