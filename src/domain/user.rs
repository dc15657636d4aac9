//! Users, roles and the rules for their credentials.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Role {
    Customer,
    Partner,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Customer, Role::Partner, Role::Admin];
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Partner => "partner",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    Authenticated,
    /// Only these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub const ADMIN: Access = Access::Roles(&[Role::Admin]);
    pub const PARTNER: Access = Access::Roles(&[Role::Partner, Role::Admin]);

    /// `None` when allowed; otherwise whether the caller must sign in (401) or is forbidden (403).
    pub fn check(&self, role: Option<Role>) -> Result<(), Denied> {
        match (self, role) {
            (Access::Public, _) => Ok(()),
            (_, None) => Err(Denied::Unauthenticated),
            (Access::Authenticated, Some(_)) => Ok(()),
            (Access::Roles(allowed), Some(r)) if allowed.contains(&r) => Ok(()),
            (Access::Roles(_), Some(_)) => Err(Denied::Forbidden),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Unauthenticated,
    Forbidden,
}

/// A field-level validation failure: the one field error type of every door
/// (problem+json `errors`, form messages, server function results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The offending field or parameter.
    pub field: String,
    /// In English (the API's default); [`FieldError::in_locale`] says it in another language.
    pub message: String,
    /// The message's key in the catalogues (`locales/*.ftl`) and its values,
    /// so each door says it in its reader's language. Empty for a message
    /// that came as text (from the client, or from a library).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub args: Vec<(String, String)>,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), code: String::new(), args: Vec::new() }
    }

    /// A message from the catalogues: `code` is its key (`field-…`), `args` fill its `{ $name }`s.
    pub fn coded(code: &str, field: &str, args: &[(&str, &str)]) -> Self {
        debug_assert!(!crate::i18n::Locale::En.t(code).is_empty(), "{code} is not in the catalogue");
        Self {
            field: field.into(),
            message: crate::i18n::Locale::En.tf(code, args),
            code: code.into(),
            args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// The same problem reported on another field (`items.SKU.quantity` for `quantity`).
    pub fn on(mut self, field: &str) -> Self {
        self.field = field.into();
        self
    }

    /// The message in `loc`'s language (as it came, when it has no code).
    pub fn in_locale(&self, loc: crate::i18n::Locale) -> String {
        if self.code.is_empty() {
            return self.message.clone();
        }
        loc.say(&self.code, &self.args)
    }

    /// This error with its message in `loc`'s language.
    pub fn localized(mut self, loc: crate::i18n::Locale) -> Self {
        self.message = self.in_locale(loc);
        self
    }
}

/// A syntactically valid e-mail address; `key()` is the case-insensitive identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        let s = raw.trim();
        let bad = || FieldError::coded("field-email-invalid", "email", &[]);
        if s.is_empty() {
            return Err(FieldError::coded("field-email-required", "email", &[]));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') || domain.len() < 3 || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") || domain.starts_with('-') {
            return Err(bad());
        }
        Ok(Email(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The identity used for uniqueness and lookup.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Passwords attackers try first (a short list; length rules out most others).
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890", "12345678910", "0123456789", "1111111111", "0000000000", "1234512345", "9876543210", "1q2w3e4r5t",
    "qwertyuiop", "qwertyuiop1", "password12", "password123", "password1234", "passw0rd123", "iloveyou12", "letmein123",
    "welcome123", "admin12345", "administrator", "abcdefghij", "abcd123456", "qwerty1234", "qwerty12345", "1qaz2wsx3edc",
    "zaq12wsxcde", "football12", "baseball12", "sunshine12", "princess12", "dragon1234", "monkey1234", "superman12",
    "trustno123", "changeme123", "master1234", "shadow1234", "michael123", "jennifer12", "computer12", "internet12",
    "starwars12", "whatever12", "asdfghjkl1", "asdfghjkl;", "zxcvbnm123", "1234qwerty", "q1w2e3r4t5", "aaaaaaaaaa",
    "passwordpassword", "vitrina123", "vitrina1234", "shopping123",
];

/// Who a mailbox belongs to, for limits that count per person (a coupon
/// once per customer): the address case-folded, with a `+tag` of its local
/// part removed, so `Ana+x@Example.ro` and `ana@example.ro` are one person,
/// whether they order with an account or as a guest.
pub fn person_key(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// The password policy: long enough, not the e-mail, not a common password.
pub fn validate_password(password: &str, email: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(FieldError::coded("field-password-short", "password", &[("min", &MIN_PASSWORD_LEN.to_string())]));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(FieldError::coded("field-password-long", "password", &[("max", &MAX_PASSWORD_LEN.to_string())]));
    }
    let lower = password.to_lowercase();
    if lower == email.trim().to_lowercase() || lower == email.split('@').next().unwrap_or("").to_lowercase() {
        return Err(FieldError::coded("field-password-is-email", "password", &[]));
    }
    if COMMON_PASSWORDS.contains(&lower.as_str()) || lower.chars().all(|c| c == lower.chars().next().unwrap_or(' ')) {
        return Err(FieldError::coded("field-password-common", "password", &[]));
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(FieldError::coded("field-name-required", "name", &[]));
    }
    if n.chars().count() > 100 {
        return Err(FieldError::coded("field-max-chars", "name", &[("max", "100")]));
    }
    Ok(n.to_string())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Browser sessions signed in before this instant are over (set when the
    /// password changes, so a stolen session dies with the old password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_from: Option<DateTime<Utc>>,
    /// The language the shop writes to them in (`ro`, `en`): the one they registered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl User {
    /// Whether a browser session signed in at `signed_in_ms` (epoch ms) still counts.
    pub fn session_valid(&self, signed_in_ms: i64) -> bool {
        !self.disabled && self.sessions_valid_from.is_none_or(|t| signed_in_ms >= t.timestamp_millis())
    }

    pub fn email_key(&self) -> String {
        self.email.to_lowercase()
    }
    pub fn view(&self) -> UserView {
        UserView { id: self.id.clone(), email: self.email.clone(), name: self.name.clone(), role: self.role }
    }
}

/// What a user may see of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_parse_and_compare_case_insensitively() {
        let e = Email::parse("  Ana.Pop@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ana.Pop@Example.COM");
        assert_eq!(e.key(), "ana.pop@example.com");
        for bad in ["", "no-at", "a@b", "a b@c.de", "@x.com", "a@.com", "a@com.", "a@@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_person_behind_case_and_plus_tags() {
        assert_eq!(person_key(" Ana.Pop+promo@Example.RO "), "ana.pop@example.ro");
        assert_eq!(person_key("ana.pop+a+b@example.ro"), "ana.pop@example.ro");
        assert_eq!(person_key("ana.pop@example.ro"), person_key("ANA.POP@example.ro"));
        assert_ne!(person_key("ana@example.ro"), person_key("ana@example.com"));
    }

    #[test]
    fn password_policy() {
        assert!(validate_password("correct horse battery", "a@b.co").is_ok());
        assert_eq!(validate_password("short", "a@b.co").unwrap_err().field, "password");
        assert!(validate_password("Password123", "a@b.co").is_err(), "common");
        assert!(validate_password("ana.pop@example.com", "Ana.Pop@example.com").is_err(), "equal to e-mail");
        assert!(validate_password("zzzzzzzzzzzz", "a@b.co").is_err());
    }

    #[test]
    fn access_rules() {
        assert_eq!(Access::ADMIN.check(None), Err(Denied::Unauthenticated));
        assert_eq!(Access::ADMIN.check(Some(Role::Customer)), Err(Denied::Forbidden));
        assert_eq!(Access::ADMIN.check(Some(Role::Partner)), Err(Denied::Forbidden));
        assert_eq!(Access::ADMIN.check(Some(Role::Admin)), Ok(()));
        assert_eq!(Access::PARTNER.check(Some(Role::Customer)), Err(Denied::Forbidden));
        assert_eq!(Access::Authenticated.check(Some(Role::Customer)), Ok(()));
        assert_eq!(Access::Public.check(None), Ok(()));
    }
}
