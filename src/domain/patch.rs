//! A change to some fields of a stored record: what one operation owns,
//! written in one atomic update only where every guard (a field the
//! operation depends on, as it read it) still holds. A shared record is
//! never written back whole after being read, so two operations that touch
//! different fields both stick, and two that depend on the same field are
//! serialised by their guards (the loser reads again, or is refused).
//!
//! Paths name fields of the record's serialized body (`status`,
//! `payment.refunded_cents`); they come from the code, never from input.
//! A set to `null` removes the field (it reads back as absent).
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    /// `(path, value)`: the stored field must hold this value (`null`: absent or null).
    pub guards: Vec<(String, Value)>,
    /// `(path, value)`: the fields written (`null` removes one).
    pub sets: Vec<(String, Value)>,
}

/// A domain value as the store writes it.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Value {
    // every value a patch carries is a domain value serde already writes to the store
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Patch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The fields that differ between two versions of a record: objects are
    /// compared field by field, anything else (numbers, strings, arrays) is
    /// written whole where it changed.
    pub fn diff<T: Serialize>(before: &T, after: &T) -> Self {
        let mut patch = Patch::new();
        diff_into(&mut patch, "", &json(before), &json(after));
        patch
    }

    /// Only where `path` still holds `value`.
    pub fn guard<T: Serialize + ?Sized>(mut self, path: &str, value: &T) -> Self {
        debug_assert!(valid_path(path), "{path}");
        let value = json(value);
        if !self.guards.iter().any(|(p, v)| p == path && *v == value) {
            self.guards.push((path.to_string(), value));
        }
        self
    }

    /// Writes `value` at `path` (replacing an earlier set of the same path).
    pub fn set<T: Serialize + ?Sized>(mut self, path: &str, value: &T) -> Self {
        debug_assert!(valid_path(path), "{path}");
        self.sets.retain(|(p, _)| p != path);
        self.sets.push((path.to_string(), json(value)));
        self
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Whether this patch writes `path` (or a field inside it).
    pub fn touches(&self, path: &str) -> bool {
        self.sets.iter().any(|(p, _)| p == path || p.strip_prefix(path).is_some_and(|rest| rest.starts_with('.')))
    }

    /// The value this patch writes at `path`, if it writes exactly that path.
    pub fn value(&self, path: &str) -> Option<&Value> {
        self.sets.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    /// Whether every guard holds on a record's body.
    pub fn holds(&self, body: &Value) -> bool {
        self.guards.iter().all(|(path, want)| lookup(body, path).unwrap_or(&Value::Null) == want)
    }

    /// Writes the sets into a record's body (what a store does in its update).
    pub fn apply(&self, body: &mut Value) {
        for (path, value) in &self.sets {
            let mut node = &mut *body;
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                if !node.is_object() {
                    *node = Value::Object(Default::default());
                }
                let map = node.as_object_mut().expect("an object");
                if parts.peek().is_none() {
                    if value.is_null() {
                        map.remove(part);
                    } else {
                        map.insert(part.to_string(), value.clone());
                    }
                    break;
                }
                node = map.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()));
            }
        }
    }
}

fn diff_into(patch: &mut Patch, prefix: &str, before: &Value, after: &Value) {
    let (Value::Object(b), Value::Object(a)) = (before, after) else { return };
    let path = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    for (k, new) in a {
        match b.get(k) {
            Some(old) if old == new => {}
            Some(old @ Value::Object(_)) if new.is_object() => diff_into(patch, &path(k), old, new),
            _ => patch.sets.push((path(k), new.clone())),
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        patch.sets.push((path(k), Value::Null));
    }
}

/// A field path: dot-separated `[a-z0-9_]` names.
pub fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

fn lookup<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |node, part| node.get(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn guards_read_the_fields_they_name_and_sets_write_only_theirs() {
        let mut body = json!({"status": "placed", "payment": {"status": "paid", "refunded_cents": 0}, "name": "Ana"});
        let p = Patch::new().guard("status", "placed").guard("payment.refunded_cents", &0).set("payment.refunded_cents", &500).set("payment.status", "partially_refunded");
        assert!(p.holds(&body));
        p.apply(&mut body);
        assert_eq!(body, json!({"status": "placed", "payment": {"status": "partially_refunded", "refunded_cents": 500}, "name": "Ana"}));
        assert!(!p.holds(&body), "the guard read 0: a second refund from the same reading is refused");
        assert!(Patch::new().guard("payment.provider_reference", &None::<String>).holds(&body), "absent reads as null");
        assert!(p.touches("payment") && p.touches("payment.status") && !p.touches("pay") && !p.touches("status"));
        assert!(valid_path("payment.refunded_cents") && !valid_path("a..b") && !valid_path("$where") && !valid_path("A"));
    }

    #[test]
    fn a_diff_names_only_the_fields_that_changed_down_to_nested_ones() {
        let before = json!({"status": "placed", "history": [1], "payment": {"status": "pending", "failure": "declined", "n": 1}, "keep": "x"});
        let after = json!({"status": "confirmed", "history": [1, 2], "payment": {"status": "paid", "n": 1}, "keep": "x"});
        let p = Patch::diff(&before, &after);
        let mut paths: Vec<&str> = p.sets.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["history", "payment.failure", "payment.status", "status"]);
        assert_eq!(p.value("payment.failure"), Some(&Value::Null), "a field that went away is removed");
        let mut applied = before.clone();
        p.apply(&mut applied);
        assert_eq!(applied, after);
        assert!(Patch::diff(&before, &before).is_empty());
    }
}
