//! Sign in, register, account. Plain HTML form posts (handled in `web.rs`):
//! they work without JavaScript and show each error next to its field.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::domain::user::UserView;
use crate::ui::fns::current_user;

pub type UserResource = Resource<Result<Option<UserView>, ServerFnError>>;

/// The signed-in user loaded once by the app.
pub fn use_user() -> UserResource {
    expect_context::<UserResource>()
}

fn q(key: &str) -> String {
    use_query_map().get_untracked().get(key).unwrap_or_default()
}

/// A message from the query (`?error=…`), in the page's language.
fn qm(key: &str) -> String {
    crate::ui::message(crate::ui::use_locale(), &q(key))
}

/// A labelled input with its error underneath.
#[component]
pub(crate) fn Field(name: &'static str, label: &'static str, #[prop(default = "text")] kind: &'static str, #[prop(optional)] value: String, #[prop(optional)] error: String, #[prop(optional)] autocomplete: &'static str, #[prop(optional)] hint: &'static str, #[prop(optional)] optional: bool) -> impl IntoView {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    let has_error = !error.is_empty();
    view! {
        <div class="field" class:invalid=has_error>
            <label for=id.clone()>{label}</label>
            <input id=id type=kind name=name value=value autocomplete=autocomplete aria-invalid=has_error.to_string() aria-describedby=err_id.clone() required=!optional/>
            {(!hint.is_empty() && !has_error).then(|| view! { <p class="hint">{hint}</p> })}
            {has_error.then(|| view! { <p class="field-error" id=err_id role="alert">{error}</p> })}
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let next = q("next");
    let register_href = loc.href(&if next.is_empty() { "/register".to_string() } else { format!("/register?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()) });
    view! {
        <Title text=loc.t("sign-in")/>
        <section class="auth-card">
            <h1>{loc.t("sign-in")}</h1>
            {(!qm("notice").is_empty()).then(|| view! { <p class="notice" role="status">{qm("notice")}</p> })}
            <form method="post" action=loc.href("/login") class="stack">
                <input type="hidden" name="next" value=next/>
                <Field name="email" label=loc.t("email") kind="email" value=q("email") autocomplete="email"/>
                <Field name="password" label=loc.t("password") kind="password" error=qm("error") autocomplete="current-password"/>
                <button type="submit" class="button primary">{loc.t("sign-in")}</button>
            </form>
            <p><a href=loc.href("/forgot-password")>{loc.t("forgot-password")}</a></p>
            <p class="muted">{loc.t("new-here")}" "<a href=register_href>{loc.t("create-account")}</a></p>
        </section>
    }
}

/// "Forgot password?": an address in, the same answer whether or not it has an account.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let sent = !q("sent").is_empty();
    view! {
        <Title text=loc.t("forgot-password")/>
        <section class="auth-card">
            <h1>{loc.t("forgot-password")}</h1>
            {if sent {
                view! {
                    <p class="notice" role="status">{loc.t("msg-reset-sent")}</p>
                    <p class="muted">{loc.t("reset-check-spam")}</p>
                    <p><a href=loc.href("/login")>{loc.t("back-to-sign-in")}</a></p>
                }
                .into_any()
            } else {
                view! {
                    <p class="muted">{loc.t("forgot-password-intro")}</p>
                    <form method="post" action=loc.href("/forgot-password") class="stack">
                        <Field name="email" label=loc.t("email") kind="email" value=q("email") error=qm("error") autocomplete="email"/>
                        <button type="submit" class="button primary">{loc.t("send-reset-link")}</button>
                    </form>
                    <p class="muted"><a href=loc.href("/login")>{loc.t("back-to-sign-in")}</a></p>
                }
                .into_any()
            }}
        </section>
    }
}

/// The mailed link's page: a new password for the token in the address
/// (a used or expired link says so at once, with a way to ask for another).
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let token = q("token");
    let checked = token.clone();
    let usable = Resource::new(move || checked.clone(), crate::ui::fns::reset_token_usable);
    view! {
        <Title text=loc.t("choose-new-password")/>
        <section class="auth-card">
            <h1>{loc.t("choose-new-password")}</h1>
            <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let token_error = qm("err.token");
                        let ok = usable.await.unwrap_or(false) && token_error.is_empty();
                        if !ok {
                            view! {
                                <p class="alert" role="alert">{if token_error.is_empty() { loc.t("field-reset-token").to_string() } else { token_error }}</p>
                                <p><a class="button" href=loc.href("/forgot-password")>{loc.t("send-reset-link")}</a></p>
                            }
                            .into_any()
                        } else {
                            view! {
                                <form method="post" action=loc.href("/reset-password") class="stack">
                                    <input type="hidden" name="token" value=token/>
                                    <Field name="password" label=loc.t("password-new-label") kind="password" error=qm("err.password") autocomplete="new-password" hint=loc.t("password-hint")/>
                                    <button type="submit" class="button primary">{loc.t("save-new-password")}</button>
                                </form>
                                <p class="muted small-text">{loc.t("reset-signs-out-everywhere")}</p>
                            }
                            .into_any()
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <Title text=loc.t("create-account")/>
        <section class="auth-card">
            <h1>{loc.t("create-account")}</h1>
            <form method="post" action=loc.href("/register") class="stack">
                <input type="hidden" name="next" value=q("next")/>
                <Field name="name" label=loc.t("name") value=q("name") error=qm("err.name") autocomplete="name"/>
                <Field name="email" label=loc.t("email") kind="email" value=q("email") error=qm("err.email") autocomplete="email"/>
                <Field name="password" label=loc.t("password") kind="password" error=qm("err.password") autocomplete="new-password" hint=loc.t("password-hint")/>
                <button type="submit" class="button primary">{loc.t("create-account-button")}</button>
            </form>
            <p class="muted">{loc.t("have-account-already")}" "<a href=loc.href("/login")>{loc.t("sign-in")}</a></p>
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let loc = crate::ui::use_locale();
    view! {
        <Title text=loc.t("your-account")/>
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match user.await.ok().flatten() {
                    Some(u) => view! { <AccountDetail user=u/> }.into_any(),
                    None => {
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect(&loc.href("/login?next=/account"));
                        view! {
                            <section class="auth-card">
                                <h1>{loc.t("error-sign-in-title")}</h1>
                                <p><a class="button primary" href=loc.href("/login?next=/account")>{loc.t("sign-in")}</a></p>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountDetail(user: UserView) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let notice = qm("notice");
    view! {
        <div class="account">
            <h1>{loc.tf("hello-name", &[("name", &user.name)])}</h1>
            {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
            <div class="account-grid">
                <section class="panel">
                    <h2>{loc.t("profile")}</h2>
                    <dl class="facts">
                        <dt>{loc.t("email")}</dt><dd data-testid="account-email">{user.email.clone()}</dd>
                        <dt>{loc.t("account-type")}</dt><dd>{loc.t(&format!("role-{}", user.role.as_str()))}</dd>
                    </dl>
                    <form method="post" action=loc.href("/account/profile") class="stack">
                        <Field name="name" label=loc.t("name") value=user.name.clone() error=qm("err.name") autocomplete="name"/>
                        <button type="submit" class="button">{loc.t("save")}</button>
                    </form>
                </section>
                <section class="panel">
                    <h2>{loc.t("change-password")}</h2>
                    <form method="post" action=loc.href("/account/password") class="stack">
                        <Field name="current_password" label=loc.t("password-current") kind="password" error=qm("err.current_password") autocomplete="current-password"/>
                        <Field name="new_password" label=loc.t("password-new-label") kind="password" error=qm("err.new_password") autocomplete="new-password" hint=loc.t("password-hint-short")/>
                        <button type="submit" class="button">{loc.t("change-password")}</button>
                    </form>
                </section>
            </div>
            <section class="panel stack" data-testid="your-data">
                <h2>{loc.t("your-data")}</h2>
                <p class="muted">{loc.t("your-data-intro")}</p>
                <p><a class="button" href=loc.href("/account/export") download="">{loc.t("your-data-download")}</a></p>
                {(user.role == crate::domain::user::Role::Customer).then(|| {
                    let error = qm("err.erase_password");
                    let open = !error.is_empty();
                    view! {
                        <details class="confirm" open=open>
                            <summary class="button danger">{loc.t("erase-account")}</summary>
                            <form method="post" action=loc.href("/account/erase") class="stack">
                                <p>{loc.t("erase-account-explain")}</p>
                                <Field name="erase_password" label=loc.t("erase-account-password") kind="password" error=error autocomplete="current-password"/>
                                <button type="submit" class="button danger">{loc.t("erase-account-yes")}</button>
                            </form>
                        </details>
                    }
                })}
            </section>
            {(user.role == crate::domain::user::Role::Admin).then(|| view! { <p><a class="button" href=loc.href("/admin")>{loc.t("open-admin")}</a></p> })}
            <form method="post" action=loc.href("/logout")><button type="submit" class="button">{loc.t("sign-out")}</button></form>
        </div>
    }
}
