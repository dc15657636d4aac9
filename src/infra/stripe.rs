//! Card payments through Stripe's PaymentIntents API, over HTTPS with form
//! bodies as Stripe expects, and its webhook signatures (`Stripe-Signature`).
//! Any server speaking the same API (localstripe in the tests) works: the
//! base URL and the browser script are configurable.
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::payment::{CardEvent, CardIntent, IntentStatus, RefundRef, RefundState};
use crate::ports::{CardGateway, GatewayError};
use crate::services::digest::{hmac_sha256, same_bytes};

/// How old a signed webhook may be (Stripe's own libraries use 5 minutes).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
    /// `https://api.stripe.com` unless `STRIPE_API_BASE` says otherwise.
    pub api_base: String,
    /// Stripe.js v3 unless `STRIPE_JS_URL` says otherwise.
    pub js_url: String,
}

pub struct StripeGateway {
    settings: StripeSettings,
    http: reqwest::Client,
}

impl StripeGateway {
    pub fn new(settings: StripeSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).connect_timeout(Duration::from_secs(5)).build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { settings, http })
    }

    async fn call(&self, method: reqwest::Method, path: &str, form: &[(&str, String)], idempotency_key: Option<&str>) -> Result<Value, GatewayError> {
        let url = format!("{}{path}", self.settings.api_base.trim_end_matches('/'));
        let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.settings.secret_key);
        if method != reqwest::Method::GET {
            req = req.form(form);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.map_err(|e| GatewayError::Unavailable(e.without_url().to_string()))?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"].as_str().unwrap_or("no message").to_string();
        if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
            Err(GatewayError::Refused(format!("{status}: {message}")))
        } else {
            Err(GatewayError::Unavailable(format!("{status}: {message}")))
        }
    }
}

/// A PaymentIntent object as Stripe sends it (only the fields the shop reads).
pub fn intent_from_json(v: &Value) -> Option<CardIntent> {
    if v["object"].as_str() != Some("payment_intent") {
        return None;
    }
    let failure = v["last_payment_error"]["message"].as_str().or_else(|| v["last_payment_error"]["code"].as_str()).map(str::to_string);
    Some(CardIntent {
        id: v["id"].as_str()?.to_string(),
        status: IntentStatus::parse(v["status"].as_str()?)?,
        amount_cents: v["amount"].as_i64()?,
        currency: v["currency"].as_str()?.to_ascii_uppercase(),
        client_secret: v["client_secret"].as_str().map(str::to_string),
        order_id: v["metadata"]["order_id"].as_str().map(str::to_string),
        failure,
    })
}

fn intent(v: Value) -> Result<CardIntent, GatewayError> {
    intent_from_json(&v).ok_or_else(|| GatewayError::Unavailable("the provider answered something that is not a payment intent".into()))
}

/// Checks `Stripe-Signature: t=<unix>,v1=<hex hmac>[,v1=…]` over `t.body`.
pub fn verify_signature(secret: &str, body: &[u8], header: &str, now: i64) -> Result<(), GatewayError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s.to_string()),
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| GatewayError::BadSignature("no timestamp".into()))?;
    if signatures.is_empty() {
        return Err(GatewayError::BadSignature("no v1 signature".into()));
    }
    if (now - t).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(GatewayError::BadSignature("the timestamp is outside the tolerance".into()));
    }
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let expected: String = hmac_sha256(secret.as_bytes(), &signed).iter().map(|b| format!("{b:02x}")).collect();
    if signatures.iter().any(|s| same_bytes(s.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(GatewayError::BadSignature("no signature matches".into()))
    }
}

#[async_trait]
impl CardGateway for StripeGateway {
    fn publishable_key(&self) -> &str {
        &self.settings.publishable_key
    }

    fn script_url(&self) -> &str {
        &self.settings.js_url
    }

    async fn create_intent(&self, order_id: &str, order_number: &str, amount_cents: i64, currency: &str) -> Result<CardIntent, GatewayError> {
        let form = [
            ("amount", amount_cents.to_string()),
            ("currency", currency.to_ascii_lowercase()),
            ("payment_method_types[]", "card".to_string()),
            ("metadata[order_id]", order_id.to_string()),
            ("metadata[order_number]", order_number.to_string()),
        ];
        // one intent per order, however often this is asked (Stripe keeps keys 24 hours)
        intent(self.call(reqwest::Method::POST, "/v1/payment_intents", &form, Some(&format!("vitrina-intent-{order_id}"))).await?)
    }

    async fn intent(&self, id: &str) -> Result<CardIntent, GatewayError> {
        intent(self.call(reqwest::Method::GET, &format!("/v1/payment_intents/{}", path_segment(id)?), &[], None).await?)
    }

    async fn cancel_intent(&self, id: &str) -> Result<CardIntent, GatewayError> {
        intent(self.call(reqwest::Method::POST, &format!("/v1/payment_intents/{}/cancel", path_segment(id)?), &[], None).await?)
    }

    async fn refund(&self, intent_id: &str, amount_cents: i64, reason: &str, key: &str) -> Result<(), GatewayError> {
        let mut form = vec![("payment_intent", intent_id.to_string()), ("amount", amount_cents.to_string()), ("metadata[vitrina_refund]", key.to_string())];
        if let Some((order_id, refund_id)) = refund_of_key(key) {
            form.push(("metadata[order_id]", order_id.to_string()));
            form.push(("metadata[refund_id]", refund_id.to_string()));
        }
        if !reason.is_empty() {
            form.push(("metadata[reason]", reason.chars().take(500).collect()));
        }
        self.call(reqwest::Method::POST, "/v1/refunds", &form, Some(key)).await.map(|_| ())
    }

    async fn refund_state(&self, intent_id: &str, key: &str) -> Result<RefundState, GatewayError> {
        let list = self.call(reqwest::Method::GET, &format!("/v1/refunds?payment_intent={}&limit=100", path_segment(intent_id)?), &[], None).await?;
        let found = list["data"].as_array().into_iter().flatten().find(|r| r["metadata"]["vitrina_refund"].as_str() == Some(key));
        Ok(match found.and_then(|r| r["status"].as_str()) {
            None => RefundState::Unknown,
            Some("succeeded") => RefundState::Succeeded,
            Some("failed" | "canceled") => RefundState::Failed,
            Some(_) => RefundState::Pending,
        })
    }

    fn verify_event(&self, body: &[u8], signature: &str, now: i64) -> Result<CardEvent, GatewayError> {
        verify_signature(&self.settings.webhook_secret, body, signature, now)?;
        let v: Value = serde_json::from_slice(body).map_err(|e| GatewayError::BadSignature(format!("the signed body is not JSON: {e}")))?;
        let id = v["id"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| GatewayError::BadSignature("the event has no id".into()))?;
        let object = &v["data"]["object"];
        // a refund event (`refund.updated`, `charge.refund.updated`…) about one of the shop's refunds
        let refund = (object["object"].as_str() == Some("refund"))
            .then(|| object["metadata"]["vitrina_refund"].as_str().and_then(refund_of_key))
            .flatten()
            .map(|(order_id, refund_id)| RefundRef { order_id: order_id.to_string(), refund_id: refund_id.to_string() });
        Ok(CardEvent { id: id.to_string(), kind: v["type"].as_str().unwrap_or_default().to_string(), intent: intent_from_json(object), refund })
    }
}

/// The order and refund a refund's idempotency key names (`vitrina-refund-<order>-<refund>`).
fn refund_of_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("vitrina-refund-")?;
    let (order_id, refund_id) = rest.rsplit_once('-')?;
    (!order_id.is_empty() && refund_id.starts_with("rf_")).then_some((order_id, refund_id))
}

/// An id as one URL path segment (ids are `pi_…`: letters, digits, `_`).
fn path_segment(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError::Refused(format!("not a payment id: {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mac: String = hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={mac}")
    }

    #[test]
    fn signatures_are_checked_over_the_raw_body_within_five_minutes() {
        let body = r#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        assert!(verify_signature("whsec_a", body.as_bytes(), &sign("whsec_a", now - 10, body), now).is_ok());
        assert!(verify_signature("whsec_a", br#"{"id":"evt_2"}"#, &sign("whsec_a", now, body), now).is_err(), "another body");
        assert!(verify_signature("whsec_b", body.as_bytes(), &sign("whsec_a", now, body), now).is_err(), "another secret");
        assert!(verify_signature("whsec_a", body.as_bytes(), &sign("whsec_a", now - 301, body), now).is_err(), "too old");
        assert!(verify_signature("whsec_a", body.as_bytes(), "v1=abc", now).is_err(), "no timestamp");
        // a rotated secret: Stripe sends one v1 per secret
        let both = format!("{},v1=00ff", sign("whsec_a", now, body));
        assert!(verify_signature("whsec_a", body.as_bytes(), &both, now).is_ok());
    }

    #[test]
    fn intents_are_read_leniently() {
        let v = serde_json::json!({"object": "payment_intent", "id": "pi_1", "status": "succeeded", "amount": 1234, "currency": "ron", "metadata": {"order_id": "o_1"}});
        let i = intent_from_json(&v).unwrap();
        assert_eq!((i.status, i.amount_cents, i.currency.as_str(), i.order_id.as_deref()), (IntentStatus::Succeeded, 1234, "RON", Some("o_1")));
        assert!(intent_from_json(&serde_json::json!({"object": "charge"})).is_none());
        assert!(path_segment("pi_123").is_ok() && path_segment("../v1/customers").is_err());
    }
}
