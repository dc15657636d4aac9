//! Sign in, register, account. Plain HTML form posts (handled in `web.rs`):
//! they work without JavaScript and show each error next to its field.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
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

/// A labelled input with its error underneath.
#[component]
pub(crate) fn Field(name: &'static str, label: &'static str, #[prop(default = "text")] kind: &'static str, #[prop(optional)] value: String, #[prop(optional)] error: String, #[prop(optional)] autocomplete: &'static str, #[prop(optional)] hint: &'static str) -> impl IntoView {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    let has_error = !error.is_empty();
    view! {
        <div class="field" class:invalid=has_error>
            <label for=id.clone()>{label}</label>
            <input id=id type=kind name=name value=value autocomplete=autocomplete aria-invalid=has_error.to_string() aria-describedby=err_id.clone() required/>
            {(!hint.is_empty() && !has_error).then(|| view! { <p class="hint">{hint}</p> })}
            {has_error.then(|| view! { <p class="field-error" id=err_id role="alert">{error}</p> })}
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let next = q("next");
    let register_href = if next.is_empty() { "/register".to_string() } else { format!("/register?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()) };
    view! {
        <Title text="Sign in"/>
        <section class="auth-card">
            <h1>"Sign in"</h1>
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value=next/>
                <Field name="email" label="E-mail" kind="email" value=q("email") autocomplete="email"/>
                <Field name="password" label="Password" kind="password" error=q("error") autocomplete="current-password"/>
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
            <p class="muted">"New here? "<a href=register_href>"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <Title text="Create an account"/>
        <section class="auth-card">
            <h1>"Create an account"</h1>
            <form method="post" action="/register" class="stack">
                <input type="hidden" name="next" value=q("next")/>
                <Field name="name" label="Name" value=q("name") error=q("err.name") autocomplete="name"/>
                <Field name="email" label="E-mail" kind="email" value=q("email") error=q("err.email") autocomplete="email"/>
                <Field name="password" label="Password" kind="password" error=q("err.password") autocomplete="new-password" hint="At least 10 characters; not your e-mail."/>
                <button type="submit" class="button primary">"Create account"</button>
            </form>
            <p class="muted">"Already have an account? "<A href="/login">"Sign in"</A></p>
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await.ok().flatten() {
                    Some(u) => view! { <AccountDetail user=u/> }.into_any(),
                    None => {
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect("/login?next=/account");
                        view! {
                            <section class="auth-card">
                                <h1>"Please sign in"</h1>
                                <p><a class="button primary" href="/login?next=/account">"Sign in"</a></p>
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
    let notice = q("notice");
    view! {
        <div class="account">
            <h1>"Hello, " {user.name.clone()}</h1>
            {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
            <div class="account-grid">
                <section class="panel">
                    <h2>"Profile"</h2>
                    <dl class="facts">
                        <dt>"E-mail"</dt><dd data-testid="account-email">{user.email.clone()}</dd>
                        <dt>"Account type"</dt><dd>{user.role.as_str()}</dd>
                    </dl>
                    <form method="post" action="/account/profile" class="stack">
                        <Field name="name" label="Name" value=user.name.clone() error=q("err.name") autocomplete="name"/>
                        <button type="submit" class="button">"Save"</button>
                    </form>
                </section>
                <section class="panel">
                    <h2>"Change password"</h2>
                    <form method="post" action="/account/password" class="stack">
                        <Field name="current_password" label="Current password" kind="password" error=q("err.current_password") autocomplete="current-password"/>
                        <Field name="new_password" label="New password" kind="password" error=q("err.new_password") autocomplete="new-password" hint="At least 10 characters."/>
                        <button type="submit" class="button">"Change password"</button>
                    </form>
                </section>
            </div>
            {(user.role == crate::domain::user::Role::Admin).then(|| view! { <p><a class="button" href="/admin">"Open the admin panel"</a></p> })}
            <form method="post" action="/logout"><button type="submit" class="button">"Sign out"</button></form>
        </div>
    }
}
