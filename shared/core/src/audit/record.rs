//! One audit record, its canonical form and hash, and the context (who, from where) that
//! every record carries.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who acted. Identifiers only — never names, contact details or card data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `anonymous`, `staff`, `citizen`, `provider`, `relying_system`, `job`, `cli`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Actor {
    pub fn new(kind: &str, id: Option<&str>) -> Actor {
        Actor { kind: kind.to_owned(), id: id.map(str::to_owned) }
    }
    /// A batch job or queue consumer of the platform itself.
    pub fn job(name: &str) -> Actor {
        Actor::new("job", Some(name))
    }
    /// An operator at the command line (`mkpf-admin`).
    pub fn cli(user: &str) -> Actor {
        Actor::new("cli", Some(user))
    }
}

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Refused: bad credentials, missing rights, locked account.
    Denied,
    /// Attempted and rejected for a business reason.
    Failed,
}

/// Who is acting and from where: one per request (or job run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl Context {
    pub fn new(actor: Actor) -> Context {
        Context { actor, request_id: None, source_ip: None }
    }
}

/// What happened (the caller's part of a record).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `<area>.<verb>`, e.g. `staff.create`, `notice.update`, `auth.denied`.
    pub action: &'static str,
    /// Ids of what was acted on, e.g. `staff:tanaka`, `notice:0193…`.
    pub targets: Vec<String>,
    pub outcome: Outcome,
    /// Non-personal facts (changed field names, error codes, counts).
    pub detail: serde_json::Value,
}

impl Event {
    pub fn success(action: &'static str, targets: Vec<String>) -> Event {
        Event { action, targets, outcome: Outcome::Success, detail: serde_json::Value::Null }
    }
    pub fn denied(action: &'static str, targets: Vec<String>, code: &str) -> Event {
        Event { action, targets, outcome: Outcome::Denied, detail: serde_json::json!({ "code": code }) }
    }
    pub fn with_detail(mut self, detail: serde_json::Value) -> Event {
        self.detail = detail;
        self
    }
}

/// A stored record. Field order is the canonical order: the hash is SHA-256 over the JSON of
/// every field but `hash` (object keys in `detail` are sorted by `serde_json`'s map).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// `<JST date>/<shard>`, e.g. `2026-11-26/03`.
    pub chain: String,
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub targets: Vec<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null", default)]
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash this record should carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The `prev_hash` of the first record of a chain.
pub fn genesis(chain: &str) -> String {
    hex::encode(Sha256::digest(format!("mkpf-audit-genesis|{chain}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> AuditRecord {
        let mut r = AuditRecord {
            chain: "2026-11-26/00".into(),
            seq: 1,
            at: "2026-11-26T00:00:00.000Z".into(),
            actor: Actor::new("staff", Some("op1")),
            action: "staff.create".into(),
            targets: vec!["staff:a".into()],
            outcome: Outcome::Success,
            request_id: Some("r".into()),
            source_ip: None,
            detail: serde_json::json!({"b": 1, "a": 2}),
            prev_hash: genesis("2026-11-26/00"),
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    #[test]
    fn the_hash_covers_every_field_and_survives_a_round_trip() {
        let r = rec();
        let back: AuditRecord = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back.compute_hash(), r.hash);
        let mut changed = r.clone();
        changed.targets.push("x".into());
        assert_ne!(changed.compute_hash(), r.hash);
        let mut changed = r.clone();
        changed.outcome = Outcome::Denied;
        assert_ne!(changed.compute_hash(), r.hash);
        let mut changed = r.clone();
        changed.prev_hash = genesis("other");
        assert_ne!(changed.compute_hash(), r.hash);
        assert_ne!(genesis("2026-11-26/00"), genesis("2026-11-26/01"));
    }
}
