use clap::{Parser, Subcommand};

/// mimalloc: a page renders hundreds of small strings and vectors; the
/// system allocator's locks and consolidation were a fifth of a page's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use vitrina::config::Config;
use vitrina::domain::user::Role;
use vitrina::server;
use vitrina::services::demo;
use vitrina::state::AppState;

/// Vitrina: a self-hostable e-commerce shop.
#[derive(Parser)]
#[command(name = "vitrina", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the shop (address from VITRINA_ADDR, data from VITRINA_DATA_DIR).
    Serve {
        /// Seed the demo catalog first when the store has no products.
        #[arg(long)]
        seed_if_empty: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Fill the store with a deterministic demo catalog and order history.
    Seed {
        /// Number of products.
        #[arg(long, default_value_t = 2000)]
        products: u64,
        /// Number of past orders (with co-purchase structure, for recommendations).
        #[arg(long, default_value_t = 7000)]
        orders: u64,
        /// Delete every product, category, image and order first.
        #[arg(long)]
        reset: bool,
    },
    /// Back the shop up into one archive while it serves: a consistent copy
    /// of the store (SQLite's online backup, or every MongoDB collection) and
    /// the local images.
    Backup {
        /// The archive to write (tar + gzip); a directory gets `vitrina-<time>.tar.gz` in it.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore an archive of `vitrina backup` into the configured store: an
    /// empty data directory (or MongoDB database) unless --force. A backup of
    /// the other kind of store moves the shop into this one.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace the shop that is there.
        #[arg(long)]
        force: bool,
    },
    /// Recommendations: rebuild the "bought together" table, or measure the strategies.
    Recommend {
        #[command(subcommand)]
        command: RecommendCommand,
    },
    /// The token-signing key kept in the data directory.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start signing with a new key; the current one still verifies for 30
    /// days (sessions, tokens and mailed links stay valid). Restart the shop after.
    Rotate,
}

#[derive(Subcommand)]
enum RecommendCommand {
    /// Rebuild the product-to-product table from the orders now.
    Rebuild,
    /// Hold out each customer's last order, recommend from the rest, and
    /// print hit-rate@k and precision@k per strategy and for best sellers.
    Evaluate {
        /// Evaluate on a generated history over the current catalog (this
        /// seed; not stored) instead of the store's orders.
        #[arg(long)]
        synthetic: Option<u64>,
        /// Orders of the generated history.
        #[arg(long, default_value_t = 7000)]
        orders: usize,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (the password from --password, else read from standard input).
    Create {
        #[arg(long)]
        email: String,
        /// customer, partner or admin
        #[arg(long, default_value = "customer")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    // everything the shop writes (the store, images, mails, backups, keys) is its user's only
    vitrina::infra::private::private_umask();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    server::init_tracing(config.log_json);
    // a restore must find the data directory as it is: before anything opens the store
    if let Command::Restore { from, force } = &cli.command {
        match vitrina::infra::backup::restore(&config.data_location(), from, *force).await {
            Ok(r) => {
                println!(
                    "Restored {} (a {} backup of {}, {} image(s)) into the {} store in {:.1?}.",
                    from.display(),
                    r.manifest.store,
                    r.manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.images,
                    r.target,
                    r.elapsed
                );
                if let Some(moved) = &r.moved {
                    let tables: Vec<String> = moved.iter().map(|(t, n)| format!("{t} {n}")).collect();
                    println!("Moved {} records from {} to {}: {}.", r.documents, r.manifest.store, r.target, tables.join(", "));
                }
                if config.jwt_secret.is_none() && !vitrina::infra::keys::key_path(&config.data_dir).exists() {
                    println!(
                        "The token-signing key is not in backups. Bring it from the old machine: copy its {} into {} (mode 0600), \
                         or set the VITRINA_JWT_SECRET it used. Without it the shop makes a new key: signed-in API clients sign in again \
                         and links in mails sent before (guest orders, password resets) stop working.",
                        vitrina::infra::keys::KEY_FILE,
                        config.data_dir.display()
                    );
                }
            }
            Err(e) => {
                eprintln!("restore: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Command::Keys { command: KeysCommand::Rotate } = &cli.command {
        match vitrina::infra::keys::rotate(&config.data_dir) {
            Ok(until) => println!("A new token-signing key signs from the next start; the previous one still verifies until {}. Restart every instance.", until.format("%Y-%m-%d %H:%M UTC")),
            Err(e) => {
                eprintln!("keys rotate: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let (state, backends) = match AppState::build_with_backends(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("could not start: {e}");
            std::process::exit(1);
        }
    };
    let result = match cli.command {
        Command::Seed { products, orders, reset } => seed(&state, &backends, products, orders, reset).await,
        Command::Backup { to } => backup(&state, to).await,
        // restored above, before the store opened
        Command::Restore { .. } => Ok(()),
        Command::Recommend { command: RecommendCommand::Rebuild } => rebuild(&state).await,
        Command::Recommend { command: RecommendCommand::Evaluate { synthetic, orders, k, json } } => evaluate(&state, &backends, synthetic, orders, k, json).await,
        Command::User { command: UserCommand::Create { email, role, name, password } } => create_user(&state, &email, &role, name, password).await,
        Command::Keys { .. } => Ok(()),
        Command::Serve { seed_if_empty } => {
            if let Err(e) = bootstrap_admin(&state).await {
                eprintln!("{e}");
                std::process::exit(1);
            }
            if seed_if_empty {
                match backends.catalog.count_products().await {
                    Ok(0) => {
                        if let Err(e) = seed(&state, &backends, 2000, 7000, false).await {
                            eprintln!("{e}");
                            std::process::exit(1);
                        }
                        if let Err(e) = demo_users(&state).await {
                            eprintln!("{e}");
                            std::process::exit(1);
                        }
                        demo_coupon(&state).await;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("store: {e}");
                        std::process::exit(1);
                    }
                }
            }
            server::serve(state).await.map_err(|e| e.to_string())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn seed(state: &AppState, backends: &vitrina::state::Backends, products: u64, orders: u64, reset: bool) -> Result<(), String> {
    let started = std::time::Instant::now();
    let n = demo::seed(&backends.catalog, &backends.images, products, reset).await.map_err(|e| e.to_string())?;
    state.catalog.invalidate().await;
    println!("Seeded {n} demo products into the {} store in {:.1?}.", state.store_kind, started.elapsed());
    if orders > 0 {
        let started = std::time::Instant::now();
        let catalog: Vec<_> = (0..products).map(demo::demo_product).collect();
        let history = demo::demo_history(&catalog, 1, orders as usize, chrono::Utc::now());
        let stored = demo::seed_history(&backends.orders, &catalog, &history, &state.config.rules.pricing).await.map_err(|e| e.to_string())?;
        // the last two weeks' sales make the demo's "trending now"
        let recent = chrono::Utc::now() - chrono::Duration::days(14);
        for h in history.iter().filter(|h| h.at > recent && h.status != vitrina::domain::order::OrderStatus::Cancelled) {
            for &i in &h.items {
                state.catalog.track_trending_at(&catalog[i].id, 10.0, h.at);
            }
        }
        let report = state.recommend.rebuild().await.map_err(|e| e.to_string())?;
        println!(
            "Seeded {stored} past orders in {:.1?}; {} products have \"bought together\" suggestions.",
            started.elapsed(),
            report.stats.with_complements
        );
    }
    Ok(())
}

async fn backup(state: &AppState, to: std::path::PathBuf) -> Result<(), String> {
    let to = if to.is_dir() { to.join(format!("vitrina-{}.tar.gz", chrono::Utc::now().format("%Y%m%d-%H%M%S"))) } else { to };
    let r = vitrina::infra::backup::backup(&state.config.data_location(), &to).await?;
    let file = to.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let record = vitrina::domain::dashboard::LastBackup { at: r.manifest.created_at, bytes: r.bytes, file };
    if let Err(e) = state.desk.record_backup(&record).await {
        eprintln!("the backup is written, but recording its time for the panel failed: {e}");
    }
    println!(
        "Backed up the {} store and {} image(s) into {} ({:.1} MB) in {:.1?}.",
        r.manifest.store,
        r.manifest.images,
        to.display(),
        r.bytes as f64 / 1e6,
        r.elapsed
    );
    Ok(())
}

async fn rebuild(state: &AppState) -> Result<(), String> {
    let r = state.recommend.rebuild().await.map_err(|e| e.to_string())?;
    println!(
        "Rebuilt recommendations from {} orders in {} ms: {} products bought together ({} pairs), {} stale lists removed; counts peaked at {:.1} MiB.",
        r.stats.orders,
        r.elapsed_ms,
        r.stats.with_complements,
        r.stats.pairs,
        r.dropped,
        r.peak_bytes as f64 / 1048576.0
    );
    Ok(())
}

async fn evaluate(state: &AppState, backends: &vitrina::state::Backends, synthetic: Option<u64>, orders: usize, k: usize, json: bool) -> Result<(), String> {
    if !(1..=100).contains(&k) {
        return Err("--k must be from 1 to 100".into());
    }
    let (source, baskets) = match synthetic {
        Some(seed) => {
            let mut products = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = backends.catalog.products_after(after.as_deref(), 2000).await.map_err(|e| e.to_string())?;
                let full = page.len() == 2000;
                after = page.last().map(|p| p.id.clone());
                products.extend(page);
                if !full {
                    break;
                }
            }
            let history = demo::demo_history(&products, seed, orders, chrono::Utc::now());
            (format!("a generated history (seed {seed}, {orders} orders, not stored)"), demo::history_baskets(&products, &history))
        }
        None => (format!("the {} store's orders", state.store_kind), state.recommend.baskets().await.map_err(|e| e.to_string())?),
    };
    let e = state.recommend.evaluate(&baskets, k).await.map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "source": source, "evaluation": e })).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("Evaluated on {source}: {} orders of {} customers; {} held-out last orders scored, k = {}.", e.orders, e.customers, e.cases, e.k);
    println!("{:<20} {:>12} {:>16}", "strategy", format!("hit-rate@{k}"), format!("precision@{k}"));
    for (strategy, score) in &e.scores {
        let name = if strategy.as_str() == "popular" { "popular (baseline)" } else { strategy.as_str() };
        println!("{:<20} {:>12.3} {:>16.4}", name, score.hit_rate, score.precision);
    }
    Ok(())
}

async fn create_user(state: &AppState, email: &str, role: &str, name: Option<String>, password: Option<String>) -> Result<(), String> {
    let role = Role::parse(role).ok_or_else(|| format!("--role must be customer, partner or admin, not {role:?}"))?;
    let password = match password {
        Some(p) => p,
        None => {
            eprint!("Password for {email}: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
    let user = state.accounts.register(email, &password, &name, role).await.map_err(|e| e.to_string())?;
    println!("Created {} {} ({})", user.role.as_str(), user.email, user.id);
    Ok(())
}

/// `VITRINA_ADMIN_EMAIL` + `VITRINA_ADMIN_PASSWORD`: the first admin, created when absent.
async fn bootstrap_admin(state: &AppState) -> Result<(), String> {
    let (Some(email), Some(password)) = (&state.config.admin_email, &state.config.admin_password) else { return Ok(()) };
    if state.accounts.ensure_user(email, password, "Administrator", Role::Admin).await.map_err(|e| format!("VITRINA_ADMIN_EMAIL: {e}"))? {
        println!("Created the admin {email} from VITRINA_ADMIN_EMAIL.");
    }
    Ok(())
}

/// A demo admin and shopper for a fresh demo shop; their passwords are printed once.
async fn demo_users(state: &AppState) -> Result<(), String> {
    let mut lines = Vec::new();
    for (email, name, role) in [("admin@vitrina.test", "Demo Admin", Role::Admin), ("shopper@vitrina.test", "Demo Shopper", Role::Customer)] {
        let password = format!("demo-{}", &vitrina::services::accounts::random_token()[..12]);
        if state.accounts.ensure_user(email, &password, name, role).await.map_err(|e| e.to_string())? {
            lines.push(format!("  {:<9} {email:<22} password: {password}", role.as_str()));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let text = format!("Demo accounts (sign in at /login):\n{}\n", lines.join("\n"));
    let prod = std::env::var("LEPTOS_ENV").map(|e| e.eq_ignore_ascii_case("prod")).unwrap_or(false);
    if prod {
        // production logs are collected and kept: passwords go to a file only the owner can read
        let path = state.config.data_dir.join("demo-accounts.txt");
        write_private(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("\nDemo accounts created; their passwords are in {} (readable only by you; delete it once read).\n", path.display());
    } else {
        println!("\n{text}(shown once)\n");
    }
    Ok(())
}

/// A welcome code in the demo shop, so a newcomer can try discounts at once.
async fn demo_coupon(state: &AppState) {
    use vitrina::domain::promotion::{AppliesTo, PromoKind, PromotionInput};
    let input = PromotionInput {
        name: "Bun venit / Welcome".into(),
        code: Some("BUNVENIT10".into()),
        kind: PromoKind::Percent,
        value: 10,
        applies_to: AppliesTo::default(),
        min_subtotal_cents: 20_000,
        starts_at: None,
        ends_at: None,
        usage_limit: None,
        per_customer_limit: Some(1),
        active: true,
    };
    match state.promotions.create(input, &vitrina::services::audit::Actor::system()).await {
        Ok(_) => println!("Demo coupon: BUNVENIT10 (10 % off orders from 200 lei, once per customer).\n"),
        Err(e) => eprintln!("demo coupon not created: {e}"),
    }
}

/// Writes a file readable and writable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    options.open(path)?.write_all(text.as_bytes())
}
