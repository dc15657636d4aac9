//! Accounts: registration, sign-in, access and refresh tokens, passwords.
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::patch::Patch;
use crate::domain::user::{validate_name, validate_password, Email, FieldError, Role, User};
use crate::ports::{AccessClaims, Consumed, PasswordHasher, RefreshRecord, StoreError, TokenSigner, TokenStore, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("this e-mail address is already registered")]
    EmailTaken,
    /// Wrong password, unknown e-mail or disabled account: callers cannot tell which.
    #[error("e-mail or password is incorrect")]
    InvalidCredentials,
    #[error("the token is invalid or expired")]
    InvalidToken,
    #[error("no such user")]
    UserNotFound,
    /// A refresh token was presented twice; its family is now revoked.
    #[error("the refresh token was already used; please sign in again")]
    TokenReused,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => AccountError::EmailTaken,
            e => AccountError::Store(e),
        }
    }
}

/// A pair handed to API clients.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// The caller behind a request, once authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: User,
    /// The refresh-token family of a bearer token (`None` for browser sessions).
    pub family: Option<String>,
}

#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    hasher: Arc<dyn PasswordHasher>,
    signer: Arc<dyn TokenSigner>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    /// Verified against when the e-mail is unknown, so both cases take as long.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    /// Password resets: records by token hash in the key-value store, the
    /// mail through the outbox, tokens derived with `reset_key`.
    resets: Option<Resets>,
}

#[derive(Clone)]
struct Resets {
    kv: Arc<dyn crate::ports::KeyValueStore>,
    notify: crate::services::notify::Notifier,
    key: Vec<u8>,
}

/// A password reset as stored (under the SHA-256 of its token).
#[derive(serde::Serialize, serde::Deserialize)]
struct ResetRecord {
    user_id: String,
    issued_at: chrono::DateTime<Utc>,
}

/// Key-value namespaces of password resets: live records, used tokens.
const RESETS: &str = "password_resets";
const RESETS_USED: &str = "password_resets_used";

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl AccountService {
    pub fn new(users: Arc<dyn UserStore>, tokens: Arc<dyn TokenStore>, hasher: Arc<dyn PasswordHasher>, signer: Arc<dyn TokenSigner>, access_ttl: Duration) -> Self {
        Self { users, tokens, hasher, signer, access_ttl, refresh_ttl: Duration::from_secs(30 * 24 * 3600), dummy_hash: Arc::new(tokio::sync::OnceCell::new()), resets: None }
    }

    /// Turns on password resets and the welcome mail: `key` derives the mailed tokens.
    pub fn with_notifier(mut self, kv: Arc<dyn crate::ports::KeyValueStore>, notify: crate::services::notify::Notifier, key: &[u8]) -> Self {
        self.resets = Some(Resets { kv, notify, key: key.to_vec() });
        self
    }

    /// Starts a password reset for the account with this address, if there is
    /// an enabled one: a single-use token valid for 30 minutes, of which only
    /// the hash is stored, goes out by mail. Says nothing about whether the
    /// address exists (the caller answers the same either way).
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AccountError> {
        let Some(r) = &self.resets else { return Ok(()) };
        let key = email.trim().to_lowercase();
        if key.is_empty() || key.len() > 254 {
            return Ok(());
        }
        let Some(user) = self.users.user_by_email(&key).await?.filter(|u| !u.disabled) else { return Ok(()) };
        let now = Utc::now();
        let reset_id = format!("r_{}", uuid::Uuid::new_v4().simple());
        let token = crate::services::notify::reset_token(&r.key, &reset_id);
        let record = serde_json::to_vec(&ResetRecord { user_id: user.id.clone(), issued_at: now }).map_err(|e| AccountError::Store(StoreError::Other(e.to_string())))?;
        let minutes = crate::services::notify::RESET_MINUTES;
        r.kv.kv_put(RESETS, &sha256_hex(&token), &record, Some(now + chrono::Duration::minutes(minutes))).await?;
        // the record first, then its mail: a crash between loses only the mail, and asking again sends one
        let event = crate::domain::outbox::Event::new(format!("evt_{reset_id}.password.reset"), "password.reset", now, serde_json::json!({"user_id": user.id, "reset_id": reset_id}));
        r.notify.announce(event).await;
        Ok(())
    }

    /// Whether a mailed token can still set a password (the page says so before the form is filled).
    pub async fn reset_token_usable(&self, token: &str) -> Result<bool, AccountError> {
        let Some(r) = &self.resets else { return Ok(false) };
        let token = token.trim();
        if token.is_empty() || token.len() > 200 {
            return Ok(false);
        }
        let Some(bytes) = r.kv.kv_get(RESETS, &sha256_hex(token)).await? else { return Ok(false) };
        let Ok(record) = serde_json::from_slice::<ResetRecord>(&bytes) else { return Ok(false) };
        Ok(Utc::now() - record.issued_at <= chrono::Duration::minutes(crate::services::notify::RESET_MINUTES))
    }

    /// Sets a new password with a mailed token: once, within its 30 minutes,
    /// and not after the password changed since it was asked for. Every
    /// browser session and API token family of the user ends.
    pub async fn confirm_password_reset(&self, token: &str, password: &str) -> Result<User, AccountError> {
        let Some(r) = &self.resets else { return Err(AccountError::InvalidToken) };
        let token = token.trim();
        if token.is_empty() || token.len() > 200 {
            return Err(AccountError::InvalidToken);
        }
        let hash = sha256_hex(token);
        let record: ResetRecord = match r.kv.kv_get(RESETS, &hash).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|_| AccountError::InvalidToken)?,
            None => return Err(AccountError::InvalidToken),
        };
        let now = Utc::now();
        if now - record.issued_at > chrono::Duration::minutes(crate::services::notify::RESET_MINUTES) {
            return Err(AccountError::InvalidToken);
        }
        let seen = self.users.user_by_id(&record.user_id).await?.filter(|u| !u.disabled).ok_or(AccountError::InvalidToken)?;
        let mut user = seen.clone();
        if user.sessions_valid_from.is_some_and(|t| t > record.issued_at) {
            // the password changed after this link was sent
            return Err(AccountError::InvalidToken);
        }
        validate_password(password, &user.email).map_err(|e| e.on("password"))?;
        // single use: of two concurrent confirmations, one claims the token
        let mine = random_token();
        if r.kv.kv_put_if_absent(RESETS_USED, &hash, mine.as_bytes()).await? != mine.as_bytes() {
            return Err(AccountError::InvalidToken);
        }
        r.kv.kv_delete(RESETS, &hash).await?;
        user.password_hash = self.hasher.hash(password).await.map_err(|e| AccountError::Store(StoreError::Other(e)))?;
        user.sessions_valid_from = Some(Utc::now());
        // only the password and the sessions' start are written, and only
        // while the account is as the link found it: an admin's disable or an
        // erasure made meanwhile is never undone
        let patch = Patch::diff(&seen, &user).guard("disabled", &false).guard("email", &seen.email);
        if !self.users.update_user(&user.id, &patch).await? {
            return Err(AccountError::InvalidToken);
        }
        self.tokens.revoke_user_families(&user.id, Utc::now()).await?;
        Ok(user)
    }

    /// The account with this e-mail address (any case), if there is one.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, AccountError> {
        Ok(self.users.user_by_email(&email.trim().to_lowercase()).await?)
    }

    pub async fn register(&self, email: &str, password: &str, name: &str, role: Role) -> Result<User, AccountError> {
        self.register_in(email, password, name, role, None).await
    }

    /// Registers a user who reads the shop in `lang` (their mails come in it) and welcomes them by mail.
    pub async fn register_in(&self, email: &str, password: &str, name: &str, role: Role, lang: Option<&str>) -> Result<User, AccountError> {
        let email = Email::parse(email)?;
        let name = validate_name(name)?;
        validate_password(password, email.as_str())?;
        if self.users.user_by_email(&email.key()).await?.is_some() {
            return Err(AccountError::EmailTaken);
        }
        let hash = self.hasher.hash(password).await.map_err(|e| AccountError::Store(StoreError::Other(e)))?;
        let user = User {
            id: format!("u_{}", uuid::Uuid::new_v4().simple()),
            email: email.as_str().to_string(),
            name,
            password_hash: hash,
            role,
            disabled: false,
            created_at: Utc::now(),
            sessions_valid_from: None,
            lang: lang.filter(|l| matches!(*l, "ro" | "en")).map(str::to_string),
        };
        self.users.create_user(&user).await?;
        if let Some(r) = &self.resets {
            r.notify.user_registered(&user).await;
        }
        Ok(user)
    }

    /// Checks e-mail and password. Unknown e-mail, wrong password and a
    /// disabled account give the same error and take about the same time.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<User, AccountError> {
        let key = email.trim().to_lowercase();
        let user = if key.is_empty() || key.len() > 254 { None } else { self.users.user_by_email(&key).await? };
        match user {
            Some(u) => {
                let ok = self.hasher.verify(password, &u.password_hash).await;
                if ok && !u.disabled {
                    Ok(u)
                } else {
                    Err(AccountError::InvalidCredentials)
                }
            }
            None => {
                let dummy = self
                    .dummy_hash
                    .get_or_try_init(|| async { self.hasher.hash("dummy password for timing").await })
                    .await
                    .map_err(|e| AccountError::Store(StoreError::Other(e)))?;
                let _ = self.hasher.verify(password, dummy).await;
                Err(AccountError::InvalidCredentials)
            }
        }
    }

    async fn issue_in_family(&self, user: &User, family_id: &str) -> Result<TokenPair, AccountError> {
        let now = Utc::now();
        let claims = AccessClaims {
            sub: user.id.clone(),
            role: user.role,
            fam: family_id.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.access_ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let access_token = self.signer.sign(&claims).map_err(|e| AccountError::Store(StoreError::Other(e)))?;
        let refresh_token = random_token();
        self.tokens
            .insert_refresh(&RefreshRecord {
                token_hash: sha256_hex(&refresh_token),
                family_id: family_id.to_string(),
                user_id: user.id.clone(),
                expires_at: now + chrono::Duration::from_std(self.refresh_ttl).unwrap_or_default(),
            })
            .await?;
        Ok(TokenPair { access_token, refresh_token, token_type: "Bearer".into(), expires_in: self.access_ttl.as_secs() as i64 })
    }

    /// A new token family for a user who just signed in.
    pub async fn issue_tokens(&self, user: &User) -> Result<TokenPair, AccountError> {
        let family = format!("f_{}", uuid::Uuid::new_v4().simple());
        self.tokens.create_family(&family, &user.id, Utc::now()).await?;
        self.issue_in_family(user, &family).await
    }

    /// Rotates a refresh token. A replayed token revokes its whole family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(User, TokenPair), AccountError> {
        let now = Utc::now();
        match self.tokens.consume_refresh(&sha256_hex(refresh_token), now).await? {
            Consumed::Unknown => Err(AccountError::InvalidToken),
            Consumed::Reused(rec) => {
                tracing::warn!(family = %rec.family_id, user = %rec.user_id, "refresh token reuse: revoking the family");
                self.tokens.revoke_family(&rec.family_id, now).await?;
                Err(AccountError::TokenReused)
            }
            Consumed::Fresh(rec) => {
                if rec.expires_at <= now || self.tokens.active_family_owner(&rec.family_id).await?.as_deref() != Some(rec.user_id.as_str()) {
                    return Err(AccountError::InvalidToken);
                }
                let user = self.users.user_by_id(&rec.user_id).await?.filter(|u| !u.disabled).ok_or(AccountError::InvalidToken)?;
                let pair = self.issue_in_family(&user, &rec.family_id).await?;
                Ok((user, pair))
            }
        }
    }

    /// The account a refresh token belongs to, without using it up: limits
    /// per account are checked before [`AccountService::refresh`] rotates, so
    /// a refused refresh leaves the token valid (and its retry is no reuse).
    pub async fn refresh_owner(&self, refresh_token: &str) -> Result<Option<String>, AccountError> {
        Ok(self.tokens.refresh_owner(&sha256_hex(refresh_token)).await?)
    }

    /// Ends the family of a refresh token (idempotent for unknown tokens).
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AccountError> {
        let now = Utc::now();
        match self.tokens.consume_refresh(&sha256_hex(refresh_token), now).await? {
            Consumed::Fresh(rec) | Consumed::Reused(rec) => {
                self.tokens.revoke_family(&rec.family_id, now).await?;
                Ok(())
            }
            Consumed::Unknown => Err(AccountError::InvalidToken),
        }
    }

    /// Verifies an access token: signature, expiry, a live family and an enabled user.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, AccountError> {
        let claims = self.signer.verify(token).map_err(|_| AccountError::InvalidToken)?;
        // the family must be active and belong to the token's subject, who is still enabled
        let Some((owner, user)) = self.tokens.active_family_user(&claims.fam).await? else { return Err(AccountError::InvalidToken) };
        if owner != claims.sub {
            return Err(AccountError::InvalidToken);
        }
        let user = user.filter(|u| !u.disabled).ok_or(AccountError::InvalidToken)?;
        Ok(Principal { user, family: Some(claims.fam) })
    }

    /// The enabled user behind a browser session signed in at `signed_in_ms`
    /// (none when the session predates a password change).
    pub async fn session_user(&self, user_id: &str, signed_in_ms: i64) -> Result<Option<User>, AccountError> {
        Ok(self.users.user_by_id(user_id).await?.filter(|u| u.session_valid(signed_in_ms)))
    }

    pub async fn change_password(&self, user_id: &str, current: &str, new: &str) -> Result<(), AccountError> {
        let seen = self.users.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound)?;
        let mut user = seen.clone();
        if !self.hasher.verify(current, &user.password_hash).await {
            return Err(FieldError::coded("field-current-password", "current_password", &[]).into());
        }
        validate_password(new, &user.email).map_err(|e| e.on("new_password"))?;
        user.password_hash = self.hasher.hash(new).await.map_err(|e| AccountError::Store(StoreError::Other(e)))?;
        // every other session ends with the old password: browsers signed in
        // before now, and every API token family
        user.sessions_valid_from = Some(Utc::now());
        // written only over the password just checked: of two changes at once, one wins
        let patch = Patch::diff(&seen, &user).guard("password_hash", &seen.password_hash).guard("disabled", &false);
        if !self.users.update_user(&user.id, &patch).await? {
            return Err(FieldError::coded("field-current-password", "current_password", &[]).into());
        }
        self.tokens.revoke_user_families(&user.id, Utc::now()).await?;
        Ok(())
    }

    pub async fn update_name(&self, user_id: &str, name: &str) -> Result<User, AccountError> {
        let seen = self.users.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound)?;
        let mut user = seen.clone();
        user.name = validate_name(name)?;
        if !self.users.update_user(&user.id, &Patch::diff(&seen, &user)).await? && user != seen {
            return Err(AccountError::UserNotFound);
        }
        Ok(user)
    }

    /// Changes a user's role and/or disabled flag (admin). Disabling revokes
    /// every refresh-token family; sessions end at their next request.
    pub async fn administer(&self, user_id: &str, role: Option<Role>, disabled: Option<bool>) -> Result<User, AccountError> {
        let seen = self.users.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound)?;
        let mut user = seen.clone();
        if let Some(r) = role {
            user.role = r;
        }
        if let Some(d) = disabled {
            user.disabled = d;
        }
        // the role and the flag only: a password reset or a rename made meanwhile stays
        if !self.users.update_user(&user.id, &Patch::diff(&seen, &user)).await? && user != seen {
            return Err(AccountError::UserNotFound);
        }
        if user.disabled || role.is_some() {
            // a role change or a lock-out takes effect for API clients at once
            self.tokens.revoke_user_families(&user.id, Utc::now()).await?;
        }
        Ok(user)
    }

    /// Creates the user if the e-mail is free (first admin from the environment).
    pub async fn ensure_user(&self, email: &str, password: &str, name: &str, role: Role) -> Result<bool, AccountError> {
        match self.register(email, password, name, role).await {
            Ok(_) => Ok(true),
            Err(AccountError::EmailTaken) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
