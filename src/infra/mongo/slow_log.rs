//! The slow-command log (`VITRINA_MONGODB_SLOW_MS`): every command that
//! takes longer is logged with its collection and the *shape* of what it
//! asked (field names and operators, never values: no customer data in
//! logs), so the query to index or rewrite is named, not guessed.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::bson::{Bson, Document};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;

/// The parts of a command that say what it reads or changes.
const SHAPED: [&str; 6] = ["filter", "pipeline", "sort", "q", "query", "updates"];

pub(super) fn handler(limit: Duration) -> EventHandler<CommandEvent> {
    let started: Arc<Mutex<HashMap<i32, String>>> = Arc::default();
    EventHandler::callback(move |event| {
        let Ok(mut started) = started.lock() else { return };
        match event {
            CommandEvent::Started(e) => {
                started.insert(e.request_id, describe(&e.command_name, &e.command));
            }
            CommandEvent::Succeeded(e) => {
                let what = started.remove(&e.request_id);
                if e.duration >= limit {
                    tracing::warn!(ms = e.duration.as_millis() as u64, command = what.as_deref().unwrap_or(&e.command_name), "slow MongoDB command");
                }
            }
            CommandEvent::Failed(e) => {
                started.remove(&e.request_id);
            }
            _ => {}
        }
    })
}

/// `find orders filter={user_id: ?, status: {$in: [?, ?]}}`, at most 400 characters.
fn describe(name: &str, command: &Document) -> String {
    let mut out = format!("{name} {}", command.get(name).and_then(Bson::as_str).unwrap_or("?"));
    for key in SHAPED {
        if let Some(v) = command.get(key) {
            out.push_str(&format!(" {key}={}", shape(v)));
        }
    }
    if out.len() > 400 {
        let cut = (0..=400).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn shape(v: &Bson) -> String {
    match v {
        Bson::Document(d) => {
            let fields: Vec<String> = d.iter().map(|(k, v)| format!("{k}: {}", shape(v))).collect();
            format!("{{{}}}", fields.join(", "))
        }
        Bson::Array(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(", ")),
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    #[test]
    fn a_command_is_described_by_its_shape_without_values() {
        let cmd = doc! { "find": "orders", "filter": { "user_id": "u_secret", "status": { "$in": ["placed", "x"] } }, "limit": 10 };
        let d = super::describe("find", &cmd);
        assert_eq!(d, "find orders filter={user_id: ?, status: {$in: [?, ?]}}");
        assert!(!d.contains("u_secret"));
        let long = doc! { "aggregate": "products", "pipeline": (0..200).map(|i| mongodb::bson::Bson::Document(doc! { format!("k{i}"): 1 })).collect::<Vec<_>>() };
        assert!(super::describe("aggregate", &long).chars().count() <= 401);
    }
}
