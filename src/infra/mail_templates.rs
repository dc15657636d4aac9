//! Mail templates (`templates/mail/`, compiled into the binary), rendered
//! with minijinja: `<lang>/<name>.txt` (first line: the subject) and
//! `<lang>/<name>.html` (extends `layout.html`; values are HTML-escaped).
use minijinja::Environment;

use crate::ports::MailTemplates;

/// Every mail the shop sends.
pub const MAILS: [&str; 8] = ["welcome", "order_placed", "payment_received", "shipped", "cancelled", "refunded", "password_reset", "low_stock"];

const SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/mail/layout.html")),
    ("ro/welcome.txt", include_str!("../../templates/mail/ro/welcome.txt")),
    ("ro/welcome.html", include_str!("../../templates/mail/ro/welcome.html")),
    ("ro/order_placed.txt", include_str!("../../templates/mail/ro/order_placed.txt")),
    ("ro/order_placed.html", include_str!("../../templates/mail/ro/order_placed.html")),
    ("ro/payment_received.txt", include_str!("../../templates/mail/ro/payment_received.txt")),
    ("ro/payment_received.html", include_str!("../../templates/mail/ro/payment_received.html")),
    ("ro/shipped.txt", include_str!("../../templates/mail/ro/shipped.txt")),
    ("ro/shipped.html", include_str!("../../templates/mail/ro/shipped.html")),
    ("ro/cancelled.txt", include_str!("../../templates/mail/ro/cancelled.txt")),
    ("ro/cancelled.html", include_str!("../../templates/mail/ro/cancelled.html")),
    ("ro/refunded.txt", include_str!("../../templates/mail/ro/refunded.txt")),
    ("ro/refunded.html", include_str!("../../templates/mail/ro/refunded.html")),
    ("ro/password_reset.txt", include_str!("../../templates/mail/ro/password_reset.txt")),
    ("ro/password_reset.html", include_str!("../../templates/mail/ro/password_reset.html")),
    ("ro/low_stock.txt", include_str!("../../templates/mail/ro/low_stock.txt")),
    ("ro/low_stock.html", include_str!("../../templates/mail/ro/low_stock.html")),
    ("en/welcome.txt", include_str!("../../templates/mail/en/welcome.txt")),
    ("en/welcome.html", include_str!("../../templates/mail/en/welcome.html")),
    ("en/order_placed.txt", include_str!("../../templates/mail/en/order_placed.txt")),
    ("en/order_placed.html", include_str!("../../templates/mail/en/order_placed.html")),
    ("en/payment_received.txt", include_str!("../../templates/mail/en/payment_received.txt")),
    ("en/payment_received.html", include_str!("../../templates/mail/en/payment_received.html")),
    ("en/shipped.txt", include_str!("../../templates/mail/en/shipped.txt")),
    ("en/shipped.html", include_str!("../../templates/mail/en/shipped.html")),
    ("en/cancelled.txt", include_str!("../../templates/mail/en/cancelled.txt")),
    ("en/cancelled.html", include_str!("../../templates/mail/en/cancelled.html")),
    ("en/refunded.txt", include_str!("../../templates/mail/en/refunded.txt")),
    ("en/refunded.html", include_str!("../../templates/mail/en/refunded.html")),
    ("en/password_reset.txt", include_str!("../../templates/mail/en/password_reset.txt")),
    ("en/password_reset.html", include_str!("../../templates/mail/en/password_reset.html")),
    ("en/low_stock.txt", include_str!("../../templates/mail/en/low_stock.txt")),
    ("en/low_stock.html", include_str!("../../templates/mail/en/low_stock.html")),
    ("ro/document.txt", include_str!("../../templates/mail/ro/document.txt")),
    ("ro/document.html", include_str!("../../templates/mail/ro/document.html")),
    ("ro/return_requested.txt", include_str!("../../templates/mail/ro/return_requested.txt")),
    ("ro/return_requested.html", include_str!("../../templates/mail/ro/return_requested.html")),
    ("ro/return_received.txt", include_str!("../../templates/mail/ro/return_received.txt")),
    ("ro/return_received.html", include_str!("../../templates/mail/ro/return_received.html")),
    ("en/document.txt", include_str!("../../templates/mail/en/document.txt")),
    ("en/document.html", include_str!("../../templates/mail/en/document.html")),
    ("en/return_requested.txt", include_str!("../../templates/mail/en/return_requested.txt")),
    ("en/return_requested.html", include_str!("../../templates/mail/en/return_requested.html")),
    ("en/return_received.txt", include_str!("../../templates/mail/en/return_received.txt")),
    ("en/return_received.html", include_str!("../../templates/mail/en/return_received.html")),
];

pub struct JinjaTemplates {
    env: Environment<'static>,
}

impl JinjaTemplates {
    pub fn new() -> Result<Self, String> {
        let mut env = Environment::new();
        for (name, source) in SOURCES {
            env.add_template(name, source).map_err(|e| format!("mail template {name}: {e}"))?;
        }
        Ok(Self { env })
    }
}

impl MailTemplates for JinjaTemplates {
    fn render(&self, template: &str, lang: &str, context: &serde_json::Value) -> Result<(String, String, String), String> {
        let lang = if lang == "en" { "en" } else { "ro" };
        let mut ctx = context.clone();
        if let Some(m) = ctx.as_object_mut() {
            m.insert("lang".into(), lang.into());
        }
        let render = |ext: &str| {
            let name = format!("{lang}/{template}.{ext}");
            self.env.get_template(&name).and_then(|t| t.render(&ctx)).map_err(|e| format!("mail template {name}: {e}"))
        };
        let text = render("txt")?;
        let (subject, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        Ok((subject.trim().to_string(), body.trim_start_matches('\n').to_string(), render("html")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mail_renders_in_both_languages_and_escapes_html() {
        let t = JinjaTemplates::new().expect("templates compile");
        let order = serde_json::json!({"number": "V-000007", "link": "http://shop/o", "lines": [{"name": "Ceai <verde>", "options": "", "quantity": 2, "unit_price": "10,00 lei", "line_total": "20,00 lei"}],
            "subtotal": "20,00 lei", "shipping": "0,00 lei", "shipping_method": "standard", "vat": "3,47 lei", "vat_percent": 21, "total": "20,00 lei", "address": "Ana\nStr. X 1", "address_lines": ["Ana", "Str. X 1"],
            "payment": "ramburs", "bank": null, "refunded": "", "cod": true, "card": false, "expired": false});
        let ctx = serde_json::json!({"shop": "Vitrina", "shop_url": "http://shop", "name": "Ana", "email": "ana@example.ro", "order": order, "amount": "5,00 lei", "link": "http://shop/x", "minutes": 30, "sku": "S-1", "product_name": "Ceai", "stock": 2, "threshold": 5});
        for name in MAILS {
            for lang in ["ro", "en"] {
                let (subject, text, html) = t.render(name, lang, &ctx).unwrap_or_else(|e| panic!("{name}/{lang}: {e}"));
                assert!(!subject.is_empty() && !text.trim().is_empty(), "{name}/{lang}");
                assert!(html.contains("<html lang=\"") && html.contains("Vitrina"), "{name}/{lang}: {html}");
                assert!(!html.contains("<verde>"), "{name}/{lang}: values are escaped");
            }
        }
        let (subject, text, html) = t.render("order_placed", "ro", &ctx).unwrap();
        assert_eq!(subject, "Comanda V-000007 a fost plasată");
        assert!(text.contains("Ceai <verde>: 2 × 10,00 lei = 20,00 lei") && text.contains("TVA inclus (21 %): 3,47 lei"), "{text}");
        assert!(html.contains("Ceai &lt;verde&gt;") && html.contains("20,00 lei"), "{html}");
        assert!(t.render("order_placed", "en", &ctx).unwrap().0.starts_with("Order V-000007"));
    }
}
