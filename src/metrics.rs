//! Prometheus metrics at `/metrics`: requests and latency per route, cache
//! hits / misses / bypasses, store latency per operation, orders placed.
//! Plain atomics, rendered in the text exposition format.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BOUNDS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BOUNDS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, labels: &str, out: &mut String) {
        let mut cumulative = 0;
        for (i, b) in BOUNDS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            out.push_str(&format!("{name}_bucket{{{labels}{}le=\"{b}\"}} {cumulative}\n", if labels.is_empty() { "" } else { "," }));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{{labels}{}le=\"+Inf\"}} {count}\n", if labels.is_empty() { "" } else { "," }));
        out.push_str(&format!("{name}_sum{{{labels}}} {}\n", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6));
        out.push_str(&format!("{name}_count{{{labels}}} {count}\n"));
    }
}

#[derive(Default)]
struct RouteStats {
    latency: Histogram,
    /// status → count
    statuses: Mutex<BTreeMap<u16, u64>>,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Arc<RouteStats>>>,
    store: Mutex<BTreeMap<&'static str, Arc<Histogram>>>,
    /// Catalog reads answered from the cache (any layer).
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    /// Of the hits, those answered by the in-process layer.
    pub cache_local_hits: Counter,
    /// Cache calls that failed and were bypassed (Redis down or slow).
    pub cache_errors: Counter,
    pub orders_placed: Counter,
    pub orders_refused: Counter,
}

pub fn get() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, d: Duration) {
        let stats = {
            let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            routes.entry((method.to_string(), route.to_string())).or_default().clone()
        };
        stats.latency.observe(d);
        *stats.statuses.lock().unwrap_or_else(|e| e.into_inner()).entry(status).or_insert(0) += 1;
    }

    pub fn observe_store(&self, op: &'static str, d: Duration) {
        let h = self.store.lock().unwrap_or_else(|e| e.into_inner()).entry(op).or_default().clone();
        h.observe(d);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP vitrina_http_requests_total Requests by route (the route pattern, not the URL) and status.\n# TYPE vitrina_http_requests_total counter\n");
        let routes: Vec<((String, String), Arc<RouteStats>)> = self.routes.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for ((method, route), stats) in &routes {
            for (status, n) in stats.statuses.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                out.push_str(&format!("vitrina_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}\n", escape(route)));
            }
        }
        out.push_str("# HELP vitrina_http_request_duration_seconds Request latency by route.\n# TYPE vitrina_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in &routes {
            stats.latency.render("vitrina_http_request_duration_seconds", &format!("method=\"{method}\",route=\"{}\"", escape(route)), &mut out);
        }
        out.push_str("# HELP vitrina_store_duration_seconds Store calls by operation.\n# TYPE vitrina_store_duration_seconds histogram\n");
        let store: Vec<(&'static str, Arc<Histogram>)> = self.store.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect();
        for (op, h) in store {
            h.render("vitrina_store_duration_seconds", &format!("op=\"{op}\""), &mut out);
        }
        let (hits, misses) = (self.cache_hits.get(), self.cache_misses.get());
        let ratio = if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 };
        for (name, help, kind, value) in [
            ("vitrina_cache_hits_total", "Catalog reads answered by the cache.", "counter", hits.to_string()),
            ("vitrina_cache_misses_total", "Catalog reads that went to the store.", "counter", misses.to_string()),
            ("vitrina_cache_local_hits_total", "Hits answered by the in-process layer.", "counter", self.cache_local_hits.get().to_string()),
            ("vitrina_cache_errors_total", "Cache calls that failed and were bypassed.", "counter", self.cache_errors.get().to_string()),
            ("vitrina_cache_hit_ratio", "hits / (hits + misses) since start.", "gauge", format!("{ratio:.4}")),
            ("vitrina_orders_placed_total", "Orders placed.", "counter", self.orders_placed.get().to_string()),
            ("vitrina_orders_refused_total", "Orders refused for short stock.", "counter", self.orders_refused.get().to_string()),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe_request("GET", "/api/v1/products", 200, Duration::from_millis(3));
        m.observe_request("GET", "/api/v1/products", 200, Duration::from_millis(30));
        m.observe_request("GET", "/api/v1/products", 400, Duration::from_millis(1));
        m.cache_hits.inc();
        m.cache_misses.inc();
        let text = m.render();
        assert!(text.contains("vitrina_http_requests_total{method=\"GET\",route=\"/api/v1/products\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("vitrina_http_requests_total{method=\"GET\",route=\"/api/v1/products\",status=\"400\"} 1"));
        assert!(text.contains("vitrina_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/products\",le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("vitrina_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/products\",le=\"+Inf\"} 3"));
        assert!(text.contains("vitrina_cache_hit_ratio 0.5000"));
    }
}
