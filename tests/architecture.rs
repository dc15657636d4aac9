//! The layout's rules, read from the source (`use crate::…` and `super::…`
//! lines), so that a change that breaks one fails here:
//! - no import circles between the top-level modules (the doors `api`, `web`
//!   and `ui`, the shared `edge` layer, `server`, the services, the domain…);
//! - none between the domain's own modules either;
//! - the edges never reach a store: no `infra`, no store port trait, and the
//!   state they get holds services only.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comment lines.
fn code(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.trim_start().starts_with("//")).map(str::to_string).collect()
}

/// The names that follow `prefix` in `line` (`crate::api::x` → `api`).
fn names_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    line.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &line[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// A cycle in the graph, if there is one (as the path around it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(n: &str, graph: &BTreeMap<String, BTreeSet<String>>, state: &mut BTreeMap<String, u8>, stack: &mut Vec<String>) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|x| x == m).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string()
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| top_module(f)).filter(|m| m != "lib" && m != "main").collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in &files {
        let from = top_module(f);
        if !modules.contains(&from) {
            continue;
        }
        for line in code(f) {
            for to in names_after(&line, "crate::") {
                if to != from && modules.contains(to) {
                    graph.get_mut(&from).unwrap().insert(to.to_string());
                }
            }
        }
    }
    graph
}

#[test]
fn the_top_level_modules_form_no_circle() {
    let graph = module_graph();
    assert!(graph.len() > 10 && graph["api"].contains("edge") && graph["server"].contains("ui"), "the graph was read: {graph:?}");
    assert_eq!(find_cycle(&graph), None, "an import circle between modules: {graph:#?}");
    // the three doors share the edge layer and never reach into one another or the server
    for door in ["api", "web", "ui", "edge"] {
        for other in ["api", "web", "ui", "server"] {
            if door != other {
                assert!(!graph[door].contains(other), "{door} imports {other}");
            }
        }
    }
    assert!(!graph["domain"].iter().any(|m| m != "i18n"), "the domain imports only the catalogues: {:?}", graph["domain"]);
}

#[test]
fn the_domain_modules_form_no_circle() {
    let dir = src().join("domain");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let names: BTreeSet<String> = files.iter().map(|f| f.file_stem().unwrap().to_string_lossy().to_string()).filter(|n| n != "mod").collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = names.iter().map(|n| (n.clone(), BTreeSet::new())).collect();
    for f in &files {
        let from = f.file_stem().unwrap().to_string_lossy().to_string();
        if from == "mod" {
            continue;
        }
        for line in code(f) {
            for to in names_after(&line, "super::").into_iter().chain(names_after(&line, "crate::domain::")) {
                if to != from && names.contains(to) {
                    graph.get_mut(&from).unwrap().insert(to.to_string());
                }
            }
        }
    }
    assert!(graph["query"].contains("product"), "the graph was read: {graph:?}");
    assert_eq!(find_cycle(&graph), None, "an import circle in the domain: {graph:#?}");
}

#[test]
fn the_edges_never_reach_a_store() {
    let mut files = Vec::new();
    for dir in ["api", "web", "ui", "edge"] {
        rust_files(&src().join(dir), &mut files);
    }
    files.push(src().join("server.rs"));
    let store_traits = ["CatalogStore", "UserStore", "TokenStore", "KeyValueStore", "InventoryStore", "CartStore", "OrderStore", "AuditStore", "ImageStore", "RateLimiter", "Cache", "SearchIndex"];
    for f in &files {
        for line in code(f) {
            assert!(!line.contains("crate::infra"), "{} reaches into infra: {line}", f.display());
            for port in names_after(&line, "crate::ports::").into_iter().chain(line.contains("use crate::ports::{").then(|| line.split(['{', '}', ',']).map(str::trim).collect::<Vec<_>>()).into_iter().flatten()) {
                assert!(!store_traits.contains(&port), "{} names the store port {port}: {line}", f.display());
            }
        }
    }
    // the state the edges get: services, configuration, no store handles
    let state = std::fs::read_to_string(src().join("state.rs")).unwrap();
    let app = &state[state.find("pub struct App {").unwrap()..];
    let app = &app[..app.find("\n}").unwrap()];
    assert!(app.contains("pub catalog: CatalogService"), "the App struct was read");
    for line in app.lines().filter(|l| l.trim_start().starts_with("pub ")) {
        assert!(!line.contains("dyn "), "AppState holds a store or adapter: {line}");
    }
}
