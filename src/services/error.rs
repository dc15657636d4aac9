//! One error model for every door. Each service keeps its own error enum
//! (the cases its callers may want to tell apart), and each enum says what
//! it is as a [`Failure`]: one [`Kind`], a message from the catalogues, the
//! offending fields. The doors map a `Failure` once each: problem+json for
//! the API (`edge::problem`), messages next to fields or a redirect for the
//! form posts (`web`), `PageError` for server functions (`ui::fns`).
use crate::domain::query::QueryError;
use crate::domain::user::FieldError;
use crate::i18n::Locale;
use crate::ports::{GatewayError, StoreError};

use super::accounts::AccountError;
use super::admin::AdminError;
use super::catalog::CatalogError;
use super::orders::{OrderError, ShortLine};

/// What kind of failure: what a door needs to answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input was refused; `fields` says where and why.
    Invalid,
    /// A query parameter (a listing's filters, sort or page) or a header
    /// (a webhook's signature) was refused: 400.
    BadQuery,
    NotFound,
    /// The request clashes with the current state (taken, moved, already done).
    Conflict,
    /// Who the caller is could not be established (credentials, tokens).
    Unauthorized,
    Forbidden,
    /// A store or service is down or timed out: try again later.
    Unavailable,
    /// A fault on our side.
    Internal,
}

/// A service failure as every door sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: Kind,
    /// The message's key in the catalogues (`err-…`) and its values.
    pub code: &'static str,
    pub args: Vec<(String, String)>,
    /// The offending fields, each with its own message.
    pub fields: Vec<FieldError>,
    /// The fields are the whole story: the message lists them (refused
    /// input, stock that moved) rather than saying `code`.
    pub itemized: bool,
    /// On a stock conflict for one SKU: how many are available.
    pub available: Option<i64>,
    /// On an order refused for stock: each short line.
    pub short: Vec<ShortLine>,
}

impl Failure {
    pub fn new(kind: Kind, code: &'static str) -> Self {
        debug_assert!(!Locale::En.t(code).is_empty(), "{code} is not in the catalogue");
        Self { kind, code, args: Vec::new(), fields: Vec::new(), itemized: false, available: None, short: Vec::new() }
    }

    pub fn arg(mut self, name: &str, value: impl ToString) -> Self {
        self.args.push((name.to_string(), value.to_string()));
        self
    }

    pub fn field(mut self, error: FieldError) -> Self {
        self.fields.push(error);
        self
    }

    /// Refused input: every offending field.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self { fields, itemized: true, ..Self::new(Kind::Invalid, "err-invalid") }
    }

    /// The message in `loc`'s language.
    pub fn message(&self, loc: Locale) -> String {
        if self.itemized {
            let fields: Vec<String> = self.fields.iter().map(|f| format!("{}: {}", f.field, f.in_locale(loc))).collect();
            if !fields.is_empty() {
                return fields.join("; ");
            }
        }
        loc.say(self.code, &self.args)
    }

    /// A short title for the kind, in `loc`'s language.
    pub fn title(&self, loc: Locale) -> &'static str {
        loc.t(match self.kind {
            Kind::Invalid => "err-title-invalid",
            Kind::BadQuery => "err-title-bad-query",
            Kind::NotFound => "err-title-not-found",
            Kind::Conflict if !self.short.is_empty() => "err-title-short",
            Kind::Conflict => "err-title-conflict",
            Kind::Unauthorized => "err-title-unauthorized",
            Kind::Forbidden => "err-title-forbidden",
            Kind::Unavailable => "err-title-unavailable",
            Kind::Internal => "err-title-internal",
        })
    }

    /// The offending fields with their messages in `loc`'s language.
    pub fn localized_fields(&self, loc: Locale) -> Vec<FieldError> {
        self.fields.iter().cloned().map(|f| f.localized(loc)).collect()
    }
}

impl From<StoreError> for Failure {
    /// A store failure is logged here, once; the reader gets a plain message.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Failure::new(Kind::Conflict, "err-conflict").arg("detail", m),
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "store unavailable");
                Failure::new(Kind::Unavailable, "err-unavailable")
            }
            StoreError::Other(m) => {
                tracing::error!(error = %m, "store error");
                Failure::new(Kind::Internal, "err-internal")
            }
        }
    }
}

impl From<QueryError> for Failure {
    fn from(e: QueryError) -> Self {
        let field = FieldError { field: e.param.clone(), message: e.message.clone(), code: e.code.clone(), args: e.args.clone() };
        Failure { fields: vec![field], itemized: true, ..Failure::new(Kind::BadQuery, "err-invalid") }
    }
}

impl From<FieldError> for Failure {
    fn from(e: FieldError) -> Self {
        Failure::invalid(vec![e])
    }
}

impl From<CatalogError> for Failure {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound => Failure::new(Kind::NotFound, "err-product-not-found"),
            CatalogError::Invalid(q) => q.into(),
            CatalogError::Store(s) => s.into(),
        }
    }
}

impl From<super::promotions::PromoError> for Failure {
    fn from(e: super::promotions::PromoError) -> Self {
        use super::promotions::PromoError;
        match e {
            PromoError::Invalid(fields) => Failure::invalid(fields),
            PromoError::NotFound => Failure::new(Kind::NotFound, "err-promotion-not-found"),
            PromoError::CodeTaken => Failure::new(Kind::Conflict, "err-promotion-code-taken").field(FieldError::coded("field-promo-code-taken", "code", &[])),
            PromoError::Store(s) => s.into(),
        }
    }
}

impl From<super::privacy::PrivacyError> for Failure {
    fn from(e: super::privacy::PrivacyError) -> Self {
        use super::privacy::PrivacyError;
        match e {
            PrivacyError::NotFound => Failure::new(Kind::NotFound, "err-user-not-found"),
            PrivacyError::Admin => Failure::new(Kind::Conflict, "err-erase-admin"),
            PrivacyError::Invalid(f) => f.into(),
            PrivacyError::Store(s) => s.into(),
        }
    }
}

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(f) => f.into(),
            AccountError::EmailTaken => Failure::new(Kind::Conflict, "err-email-taken").field(FieldError::coded("field-email-taken", "email", &[])),
            AccountError::InvalidCredentials => Failure::new(Kind::Unauthorized, "err-credentials"),
            AccountError::InvalidToken => Failure::new(Kind::Unauthorized, "err-token"),
            AccountError::TokenReused => Failure::new(Kind::Unauthorized, "err-token-reused"),
            AccountError::UserNotFound => Failure::new(Kind::NotFound, "err-user-not-found"),
            AccountError::Store(s) => s.into(),
        }
    }
}

impl From<OrderError> for Failure {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::UnknownSku(sku) => {
                Failure::new(Kind::NotFound, "err-unknown-sku").arg("sku", &sku).field(FieldError::coded("field-unknown-sku", "sku", &[("sku", &sku)]))
            }
            OrderError::Invalid(errors) => Failure::invalid(errors),
            OrderError::NotEnough { sku, available } => Failure {
                available: Some(available),
                ..Failure::new(Kind::Conflict, "err-not-enough")
                    .arg("sku", &sku)
                    .arg("available", available)
                    .field(FieldError::coded("field-only-available", "quantity", &[("available", &available.to_string())]))
            },
            OrderError::Short(lines) => Failure { short: lines, ..Failure::new(Kind::Conflict, "err-short") },
            OrderError::EmptyCart => Failure::invalid(vec![FieldError::coded("field-cart-empty", "items", &[])]),
            OrderError::KeyMismatch => Failure::invalid(vec![FieldError::coded("field-key-mismatch", "Idempotency-Key", &[])]),
            OrderError::InProgress => Failure::new(Kind::Conflict, "err-in-progress"),
            OrderError::TooManyOpen(n) => Failure::new(Kind::Conflict, "err-too-many-open").arg("count", n),
            OrderError::NotFound => Failure::new(Kind::NotFound, "err-order-not-found"),
            OrderError::InvalidTransition { from, to } => {
                Failure::new(Kind::Conflict, "err-transition").arg("from", from.as_str()).arg("to", to.as_str())
            }
            OrderError::Store(s) => s.into(),
            OrderError::CardsOff => Failure::new(Kind::NotFound, "err-cards-off"),
            // used up is the shop's state (409); the other refusals are about the code entered (422)
            OrderError::Coupon { refusal, field } if refusal.is_used_up() => Failure::new(Kind::Conflict, "err-coupon-used-up").field(refusal.on(field)),
            OrderError::Coupon { refusal, field } => Failure::invalid(vec![refusal.on(field)]),
            OrderError::Provider(GatewayError::BadSignature(why)) => {
                tracing::warn!(%why, "a payment webhook refused");
                // a request the sender must not repeat as it is: 400
                Failure { kind: Kind::BadQuery, ..Failure::invalid(vec![FieldError::coded("field-signature", "Stripe-Signature", &[])]) }
            }
            OrderError::Provider(GatewayError::Refused(why)) => {
                tracing::warn!(%why, "the payment provider refused a request");
                Failure::new(Kind::Conflict, "err-provider-refused").arg("detail", why)
            }
            OrderError::Provider(GatewayError::Unavailable(why)) => {
                tracing::error!(%why, "the payment provider is unavailable");
                Failure::new(Kind::Unavailable, "err-provider-unavailable")
            }
        }
    }
}

impl From<super::notify::NotifyError> for Failure {
    fn from(e: super::notify::NotifyError) -> Self {
        match e {
            super::notify::NotifyError::NotFound => Failure::new(Kind::NotFound, "err-webhook-not-found"),
            super::notify::NotifyError::Invalid(f) => f.into(),
            super::notify::NotifyError::Store(s) => s.into(),
        }
    }
}

impl From<super::invoices::InvoiceError> for Failure {
    fn from(e: super::invoices::InvoiceError) -> Self {
        use super::invoices::InvoiceError;
        match e {
            InvoiceError::NotFound => Failure::new(Kind::NotFound, "err-document-not-found"),
            InvoiceError::Invalid(f) => f.into(),
            InvoiceError::Fields(f) => Failure::invalid(f),
            InvoiceError::Store(s) => s.into(),
            InvoiceError::Efactura(m) => Failure::new(Kind::Unavailable, "err-efactura").arg("message", m),
            InvoiceError::NotConfigured(m) => Failure::new(Kind::Conflict, "err-efactura").arg("message", m),
            InvoiceError::Render(m) => {
                tracing::error!(error = %m, "a document could not be rendered");
                Failure::new(Kind::Internal, "err-internal")
            }
        }
    }
}

impl From<super::recommend::RecommendError> for Failure {
    fn from(e: super::recommend::RecommendError) -> Self {
        match e {
            super::recommend::RecommendError::NotFound => Failure::new(Kind::NotFound, "err-product-not-found"),
            super::recommend::RecommendError::Invalid(f) => f.into(),
            super::recommend::RecommendError::Store(s) => s.into(),
        }
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(errors) => Failure::invalid(errors),
            AdminError::NotFound => Failure::new(Kind::NotFound, "err-product-not-found"),
            AdminError::Conflict(m) => Failure::new(Kind::Conflict, "err-conflict").arg("detail", m),
            AdminError::StockMoved(moved) => {
                let fields = moved
                    .iter()
                    .map(|m| FieldError::coded("field-stock-moved", &m.field(), &[("sku", &m.sku), ("expected", &m.expected.to_string()), ("now", &m.now.to_string())]))
                    .collect();
                Failure { fields, itemized: true, ..Failure::new(Kind::Conflict, "err-stock-moved") }
            }
            AdminError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_error_has_a_kind_and_a_message_in_both_languages() {
        let cases: Vec<(Failure, Kind)> = vec![
            (CatalogError::NotFound.into(), Kind::NotFound),
            (AccountError::EmailTaken.into(), Kind::Conflict),
            (AccountError::InvalidToken.into(), Kind::Unauthorized),
            (AccountError::UserNotFound.into(), Kind::NotFound),
            (OrderError::NotEnough { sku: "A-1".into(), available: 2 }.into(), Kind::Conflict),
            (OrderError::EmptyCart.into(), Kind::Invalid),
            (OrderError::TooManyOpen(3).into(), Kind::Conflict),
            (AdminError::NotFound.into(), Kind::NotFound),
            (StoreError::Unavailable("down".into()).into(), Kind::Unavailable),
            (StoreError::Other("bug".into()).into(), Kind::Internal),
        ];
        for (f, kind) in cases {
            assert_eq!(f.kind, kind, "{f:?}");
            for loc in [Locale::Ro, Locale::En] {
                let m = f.message(loc);
                assert!(!m.is_empty() && !m.contains("{ $"), "{loc:?} {f:?}: {m}");
                assert!(!f.title(loc).is_empty());
            }
        }
        let f: Failure = OrderError::NotEnough { sku: "A-1".into(), available: 2 }.into();
        assert_eq!(f.message(Locale::En), "Only 2 of A-1 available.");
        assert_eq!(f.message(Locale::Ro), "Doar 2 din A-1 disponibile.");
        assert_eq!((f.fields[0].field.as_str(), f.available), ("quantity", Some(2)));
        let f: Failure = OrderError::EmptyCart.into();
        assert_eq!(f.message(Locale::En), "items: the cart is empty");
    }

    #[test]
    fn store_details_never_reach_the_reader() {
        let f: Failure = StoreError::Other("sqlite: disk I/O error at /var/lib/x".into()).into();
        assert!(!f.message(Locale::En).contains("sqlite"));
    }
}
