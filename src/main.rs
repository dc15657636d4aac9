use clap::{Parser, Subcommand};

use vitrina::config::Config;
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
    /// Fill the store with a deterministic demo catalog.
    Seed {
        /// Number of products.
        #[arg(long, default_value_t = 2000)]
        products: u64,
        /// Delete every product, category and image first.
        #[arg(long)]
        reset: bool,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    server::init_tracing(config.log_json);
    let state = match AppState::build(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("could not start: {e}");
            std::process::exit(1);
        }
    };
    let result = match cli.command {
        Command::Seed { products, reset } => seed(&state, products, reset).await,
        Command::Serve { seed_if_empty } => {
            if seed_if_empty {
                match state.store.count_products().await {
                    Ok(0) => {
                        if let Err(e) = seed(&state, 2000, false).await {
                            eprintln!("{e}");
                            std::process::exit(1);
                        }
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

async fn seed(state: &AppState, products: u64, reset: bool) -> Result<(), String> {
    let started = std::time::Instant::now();
    let n = demo::seed(&state.store, &state.images, products, reset).await.map_err(|e| e.to_string())?;
    state.catalog.invalidate().await;
    println!("Seeded {n} demo products into the {} store in {:.1?}.", state.store_kind, started.elapsed());
    Ok(())
}
