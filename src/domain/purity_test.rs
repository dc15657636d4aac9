//! The domain layer must stay free of IO, drivers and web frameworks.
//! This test reads the domain sources and fails when one imports such a crate.

const FORBIDDEN: &[&str] = &[
    "mongodb", "bson", "redis", "axum", "leptos_axum", "leptos", "aws_sdk_s3", "aws_config",
    "rusqlite", "sqlx", "reqwest", "tower_sessions", "tower", "tower_http", "hyper", "tokio",
    "moka", "std::fs", "std::net",
];

fn offending_lines(source: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for line in source.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        for krate in FORBIDDEN {
            let uses = t.starts_with(&format!("use {krate}")) || t.starts_with(&format!("pub use {krate}"));
            let path = t.contains(&format!("{krate}::")) && !t.contains(&format!("_{krate}::"));
            if uses || path {
                bad.push(format!("{krate}: {t}"));
            }
        }
    }
    bad
}

#[test]
fn domain_imports_no_infrastructure() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut problems = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("src/domain exists") {
        let path = entry.unwrap().path();
        if path.file_name().and_then(|n| n.to_str()) == Some("purity_test.rs") {
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            files += 1;
            let src = std::fs::read_to_string(&path).unwrap();
            for p in offending_lines(&src) {
                problems.push(format!("{}: {p}", path.display()));
            }
        }
    }
    assert!(files >= 4, "expected the domain sources, found {files}");
    assert!(problems.is_empty(), "domain imports infrastructure:\n{}", problems.join("\n"));
}

#[test]
fn detector_catches_a_driver_import() {
    assert_eq!(offending_lines("use mongodb::Client;").len(), 1);
    assert_eq!(offending_lines("let x = redis::cmd(\"GET\");").len(), 1);
    assert!(offending_lines("use serde::Serialize;\n// use axum::Router;").is_empty());
}
