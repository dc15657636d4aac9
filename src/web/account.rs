//! Sign in, register, sign out, and the account's own changes.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::edge::caller::{client_ip, rate_limit, Caller, PeerAddr};
use crate::edge::session::{merge_guest_cart, server_error, sign_in};
use crate::domain::user::{Access, Role};
use crate::edge::ServerState;
use crate::services::accounts::AccountError;
use crate::state::AppState;

use super::back;

pub(super) fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    use Access::{Authenticated, Public};
    vec![
        ("/login", Public, post(login)),
        ("/register", Public, post(register)),
        ("/logout", Public, post(logout)),
        ("/forgot-password", Public, post(forgot_password)),
        ("/reset-password", Public, post(reset_password)),
        ("/account/password", Authenticated, post(change_password)),
        ("/account/profile", Authenticated, post(update_profile)),
        ("/account/export", Authenticated, axum::routing::get(export_data).post(export_data)),
        ("/account/erase", Authenticated, post(erase_account)),
    ]
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(State(app): State<AppState>, session: Session, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<LoginForm>) -> Response {
    let next = super::safe_next(f.next.as_deref());
    let ip = client_ip(&app, &headers, peer);
    let keys = [format!("login:ip:{ip}"), format!("login:acct:{}", f.email.trim().to_lowercase())];
    if rate_limit(&app, &keys, app.config.login_rate_per_min).await.is_err() {
        return back("/login", &[("error", "login-throttled"), ("email", &f.email), ("next", &next)]);
    }
    match app.accounts.authenticate(&f.email, &f.password).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => {
                merge_guest_cart(&app, &session, &user).await;
                Redirect::to(&next).into_response()
            }
            Err(r) => r,
        },
        Err(AccountError::Store(e)) => server_error(e),
        Err(_) => back("/login", &[("error", "login-failed"), ("email", &f.email), ("next", &next)]),
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn register(State(app): State<AppState>, headers: axum::http::HeaderMap, PeerAddr(peer): PeerAddr, session: Session, Form(f): Form<RegisterForm>) -> Response {
    let next = super::safe_next(f.next.as_deref());
    let keep = |field: &'static str, msg: String| -> Response {
        let key = format!("err.{field}");
        back("/register", &[(key.as_str(), msg.as_str()), ("email", &f.email), ("name", &f.name), ("next", &next)])
    };
    let ip = client_ip(&app, &headers, peer);
    if rate_limit(&app, &[format!("register:{ip}")], app.config.register_rate_per_min).await.is_err() {
        return keep("email", "msg-register-throttled".into());
    }
    match app.accounts.register_in(&f.email, &f.password, &f.name, Role::Customer, Some(crate::i18n::request_locale().code())).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => {
                merge_guest_cart(&app, &session, &user).await;
                Redirect::to(&next).into_response()
            }
            Err(r) => r,
        },
        Err(AccountError::EmailTaken) => keep("email", "field-email-taken-sign-in".into()),
        Err(e) => super::refused_fields(e, "/register", &[("email", &f.email), ("name", &f.name), ("next", &next)]),
    }
}

async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/").into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<PasswordForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.change_password(&p.user.id, &f.current_password, &f.new_password).await {
        Ok(()) => {
            // keep this browser signed in, under a new session id; every other one is signed out
            if let Err(res) = sign_in(&session, &p.user).await {
                return res;
            }
            back("/account", &[("notice", "password-changed")])
        }
        Err(e) => super::refused_fields(super::renamed(e, "password", "erase_password"), "/account", &[]),
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

async fn update_profile(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<ProfileForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.update_name(&p.user.id, &f.name).await {
        Ok(_) => back("/account", &[("notice", "profile-saved")]),
        Err(e) => super::refused_fields(super::renamed(e, "password", "erase_password"), "/account", &[]),
    }
}


#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// The same page after, whether or not the address has an account.
async fn forgot_password(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<ForgotForm>) -> Response {
    let ip = client_ip(&app, &headers, peer);
    let email = f.email.trim().to_string();
    if email.is_empty() || !email.contains('@') {
        return back("/forgot-password", &[("error", "reset-email-needed"), ("email", &email)]);
    }
    if crate::edge::caller::ask_password_reset(&app, &ip, &email).await.is_err() {
        return back("/forgot-password", &[("error", "reset-throttled"), ("email", &email)]);
    }
    back("/forgot-password", &[("sent", "1")])
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn reset_password(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<ResetForm>) -> Response {
    let ip = client_ip(&app, &headers, peer);
    if rate_limit(&app, &[format!("reset-confirm:ip:{ip}")], app.config.login_rate_per_min).await.is_err() {
        return back("/reset-password", &[("token", &f.token), ("err.password", "login-throttled")]);
    }
    match app.accounts.confirm_password_reset(&f.token, &f.password).await {
        Ok(_) => back("/login", &[("notice", "password-reset-done")]),
        Err(AccountError::InvalidToken) => back("/reset-password", &[("token", &f.token), ("err.token", "reset-link-invalid")]),
        Err(e) => super::refused_fields(e, "/reset-password", &[("token", &f.token)]),
    }
}

/// Everything the shop holds about the signed-in customer, as a JSON download.
async fn export_data(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.privacy.export(&p.user.id).await {
        Ok(data) => {
            let name = format!("attachment; filename=\"vitrina-data-{}.json\"", data.exported_at.format("%Y-%m-%d"));
            ([(axum::http::header::CONTENT_DISPOSITION, name)], axum::Json(data)).into_response()
        }
        Err(e) => super::refused(e, "/account"),
    }
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    erase_password: String,
}

/// Erases the signed-in customer's account once they confirm with their password.
async fn erase_account(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<EraseForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.privacy.erase_own(&p.user.id, &f.erase_password).await {
        Ok(_) => {
            let _ = session.flush().await;
            back("/login", &[("notice", "account-erased")])
        }
        Err(e) => super::refused_fields(super::renamed(e, "password", "erase_password"), "/account", &[]),
    }
}
