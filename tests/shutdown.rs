//! Shutting down without failing anyone: on the signal an instance stops
//! being ready, keeps serving for its delay while the load balancer catches
//! up, takes no new connection, lets requests in flight finish, then stops
//! its background work.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vitrina::config::Config;
use vitrina::state::AppState;

struct Running {
    base: String,
    addr: std::net::SocketAddr,
    state: AppState,
    signal: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(delay: Duration) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.shutdown_delay = delay;
    config.shutdown_grace = Duration::from_secs(10);
    let (state, backends) = AppState::build_with_backends(&config).await.unwrap();
    vitrina::services::demo::seed(&backends.catalog, &backends.images, 40, false).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (signal, on_signal) = tokio::sync::oneshot::channel::<()>();
    // real background work: the order repair loop (it must end at its next pause)
    let workers = vec![vitrina::server::spawn_order_repair(state.clone())];
    let server = tokio::spawn(vitrina::server::serve_draining(listener, state.clone(), async move {
        let _ = on_signal.await;
    }, workers));
    Running { base: format!("http://{addr}"), addr, state, signal: Some(signal), server, _dir: dir }
}

impl Running {
    fn sigterm(&mut self) {
        let _ = self.signal.take().unwrap().send(());
    }
    async fn stopped(self) {
        let r = tokio::time::timeout(Duration::from_secs(60), self.server).await.expect("the instance stops within its grace periods");
        r.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(self.addr).await.is_err(), "no new connection once stopped");
    }
}

/// Shoppers keep coming (checking readiness like a load balancer) while the
/// instance is told to stop: not one request fails, and readiness says 503
/// before the doors close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_through_the_signal_loses_nothing() {
    let mut app = start(Duration::from_millis(1500)).await;
    let client = reqwest::Client::new();
    let (_, list) = common_json(&client, &format!("{}/api/v1/products?per_page=20", app.base)).await;
    let slugs: Vec<String> = list["items"].as_array().unwrap().iter().map(|i| i["slug"].as_str().unwrap().to_string()).collect();
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let under_way = Arc::new(tokio::sync::Notify::new());
    let mut shoppers = Vec::new();
    for w in 0..8 {
        let (client, base, slugs, done, failed, under_way) = (client.clone(), app.base.clone(), slugs.clone(), done.clone(), failed.clone(), under_way.clone());
        shoppers.push(tokio::spawn(async move {
            let mut i = w;
            loop {
                // the load balancer's view: a 503 from /readyz takes the instance out
                match client.get(format!("{base}/readyz")).send().await {
                    Ok(r) if r.status() == 503 => return,
                    Ok(r) if r.status() == 200 => {}
                    other => panic!("readiness: {other:?}"),
                }
                let path = if i % 2 == 0 { format!("/p/{}", slugs[i % slugs.len()]) } else { format!("/api/v1/products?q={}", &slugs[i % slugs.len()][..4]) };
                match client.get(format!("{base}{path}")).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        if done.fetch_add(1, Ordering::SeqCst) + 1 == 100 {
                            under_way.notify_one();
                        }
                    }
                    other => {
                        eprintln!("{path}: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                i += 8;
            }
        }));
    }
    // the signal comes once the run is well under way
    under_way.notified().await;
    app.sigterm();
    for s in shoppers {
        s.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0, "no request failed");
    assert!(app.state.lifecycle.is_draining());
    app.stopped().await;
}

async fn common_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}
