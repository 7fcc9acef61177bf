//! Rendering of the port's typed [`Cond`], [`Update`] and [`SkCond`] into DynamoDB expression
//! strings. Every attribute name becomes a `#nK` placeholder and every value a `:vK` placeholder;
//! no name or value text ever appears in an expression string.
//!
//! The rendering must mean exactly what [`Cond::eval`] and [`Update::apply`] mean:
//! - a comparison with a missing attribute is false, including `Ne` (rendered
//!   `attribute_exists(#a) AND #a <> :v`);
//! - an ordering comparison with a value that is not a string, number or binary is false (DynamoDB
//!   would reject it), so it is folded to the constant false before rendering;
//! - an empty `And` is true and an empty `Or` is false.
//!
//! Constants are folded away so that no placeholder is registered unless it is used (DynamoDB
//! rejects unused `ExpressionAttributeNames`/`Values`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use mkpf_core::ports::{CmpOp, Cond, SkCond, StoreError, Update, UpdateAction, Value};

use super::convert::to_av;

/// The placeholders of one request (shared by its key, condition and update expressions).
#[derive(Debug, Default)]
pub(crate) struct Exprs {
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Exprs {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The placeholder for an attribute name (one per distinct name).
    pub(crate) fn name(&mut self, attr: &str) -> String {
        if let Some(p) = self.by_name.get(attr) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), attr.to_owned());
        self.by_name.insert(attr.to_owned(), p.clone());
        p
    }

    /// A fresh placeholder for a value.
    pub(crate) fn value(&mut self, v: &Value) -> String {
        self.av(to_av(v))
    }

    fn av(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// The `ExpressionAttributeNames` and `ExpressionAttributeValues` maps, `None` when empty
    /// (DynamoDB rejects empty maps).
    #[allow(clippy::type_complexity)]
    pub(crate) fn into_maps(self) -> (Option<HashMap<String, String>>, Option<HashMap<String, AttributeValue>>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }
}

/// A condition with its constant parts folded away.
enum Folded<'a> {
    Const(bool),
    Node(Node<'a>),
}

enum Node<'a> {
    Exists(&'a str),
    NotExists(&'a str),
    Cmp(&'a str, CmpOp, &'a Value),
    BeginsWith(&'a str, &'a str),
    And(Vec<Node<'a>>),
    Or(Vec<Node<'a>>),
    Not(Box<Node<'a>>),
}

fn fold(c: &Cond) -> Folded<'_> {
    match c {
        Cond::Exists(a) => Folded::Node(Node::Exists(a)),
        Cond::NotExists(a) => Folded::Node(Node::NotExists(a)),
        Cond::Cmp(a, op, v) => {
            let ordering = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
            if ordering && !matches!(v, Value::S(_) | Value::N(_) | Value::B(_)) {
                Folded::Const(false)
            } else {
                Folded::Node(Node::Cmp(a, *op, v))
            }
        }
        Cond::BeginsWith(a, p) => Folded::Node(Node::BeginsWith(a, p)),
        Cond::And(cs) => fold_junction(cs, false).unwrap_or_else(|nodes| Folded::Node(Node::And(nodes))),
        Cond::Or(cs) => fold_junction(cs, true).unwrap_or_else(|nodes| Folded::Node(Node::Or(nodes))),
        Cond::Not(c) => match fold(c) {
            Folded::Const(b) => Folded::Const(!b),
            Folded::Node(n) => Folded::Node(Node::Not(Box::new(n))),
        },
    }
}

/// Folds the operands of an AND (`absorbing` = false) or an OR (`absorbing` = true). `Ok` is a
/// finished result (a constant, or a single remaining operand); `Err` the operands to join.
fn fold_junction(cs: &[Cond], absorbing: bool) -> Result<Folded<'_>, Vec<Node<'_>>> {
    let mut nodes = Vec::with_capacity(cs.len());
    for c in cs {
        match fold(c) {
            Folded::Const(b) if b == absorbing => return Ok(Folded::Const(absorbing)),
            Folded::Const(_) => {}
            Folded::Node(n) => nodes.push(n),
        }
    }
    match nodes.len() {
        0 => Ok(Folded::Const(!absorbing)),
        1 => Ok(Folded::Node(nodes.remove(0))),
        _ => Err(nodes),
    }
}

fn render_node(n: &Node<'_>, ex: &mut Exprs) -> String {
    match n {
        Node::Exists(a) => format!("attribute_exists({})", ex.name(a)),
        Node::NotExists(a) => format!("attribute_not_exists({})", ex.name(a)),
        Node::Cmp(a, op, v) => {
            let name = ex.name(a);
            let val = ex.value(v);
            match op {
                CmpOp::Eq => format!("{name} = {val}"),
                // `<>` alone would be true for a missing attribute on some evaluators; the port
                // says a comparison with a missing attribute is false.
                CmpOp::Ne => format!("(attribute_exists({name}) AND {name} <> {val})"),
                CmpOp::Lt => format!("{name} < {val}"),
                CmpOp::Le => format!("{name} <= {val}"),
                CmpOp::Gt => format!("{name} > {val}"),
                CmpOp::Ge => format!("{name} >= {val}"),
            }
        }
        Node::BeginsWith(a, p) => {
            let name = ex.name(a);
            let val = ex.av(AttributeValue::S((*p).to_owned()));
            format!("begins_with({name}, {val})")
        }
        Node::And(ns) => join(ns, " AND ", ex),
        Node::Or(ns) => join(ns, " OR ", ex),
        Node::Not(n) => format!("(NOT {})", render_node(n, ex)),
    }
}

fn join(ns: &[Node<'_>], sep: &str, ex: &mut Exprs) -> String {
    let parts: Vec<String> = ns.iter().map(|n| render_node(n, ex)).collect();
    format!("({})", parts.join(sep))
}

/// Renders a condition; `None` when it always holds (no `ConditionExpression` needed). A
/// condition that never holds is rendered as a contradiction on `key_attr` (the table's partition
/// key), so DynamoDB still reports the failure the usual way.
pub(crate) fn condition(c: &Cond, key_attr: &str, ex: &mut Exprs) -> Option<String> {
    match fold(c) {
        Folded::Const(true) => None,
        Folded::Const(false) => {
            let k = ex.name(key_attr);
            Some(format!("(attribute_exists({k}) AND attribute_not_exists({k}))"))
        }
        Folded::Node(n) => Some(render_node(&n, ex)),
    }
}

/// Like [`condition`], for places where an expression is mandatory (`ConditionCheck`): a condition
/// that always holds is rendered as a tautology on `key_attr`.
pub(crate) fn required_condition(c: &Cond, key_attr: &str, ex: &mut Exprs) -> String {
    condition(c, key_attr, ex).unwrap_or_else(|| {
        let k = ex.name(key_attr);
        format!("(attribute_exists({k}) OR attribute_not_exists({k}))")
    })
}

/// Renders an update expression (`SET … REMOVE … ADD …`). The update must have been validated
/// (non-empty, no attribute twice).
pub(crate) fn update(u: &Update, ex: &mut Exprs) -> String {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    let mut add = Vec::new();
    for a in &u.actions {
        match a {
            UpdateAction::Set(n, v) => {
                let (n, v) = (ex.name(n), ex.value(v));
                set.push(format!("{n} = {v}"));
            }
            UpdateAction::SetIfAbsent(n, v) => {
                let (n, v) = (ex.name(n), ex.value(v));
                set.push(format!("{n} = if_not_exists({n}, {v})"));
            }
            UpdateAction::Add(n, d) => {
                let (n, v) = (ex.name(n), ex.value(&Value::N(*d)));
                add.push(format!("{n} {v}"));
            }
            UpdateAction::Remove(n) => remove.push(ex.name(n)),
        }
    }
    let mut clauses = Vec::new();
    if !set.is_empty() {
        clauses.push(format!("SET {}", set.join(", ")));
    }
    if !remove.is_empty() {
        clauses.push(format!("REMOVE {}", remove.join(", ")));
    }
    if !add.is_empty() {
        clauses.push(format!("ADD {}", add.join(", ")));
    }
    clauses.join(" ")
}

/// True when the update has an `Add` that needs a range guard (see [`update_condition`]).
pub(crate) fn has_add_guards(u: &Update) -> bool {
    u.actions.iter().any(|a| matches!(a, UpdateAction::Add(_, d) if *d != 0))
}

/// The condition of an update: the caller's condition (if any) and a guard per `Add` keeping the
/// result inside `i64` (DynamoDB numbers are wider, so it would store a value the port cannot read
/// back). When a guard is what failed, the adapter re-runs [`Update::apply`] on the old item to
/// report the same `Validation` error as the embedded adapter.
///
/// A guard is `attribute_not_exists(#a) OR (attribute_type(#a, N) AND #a <= limit)`. The type
/// test changes nothing on DynamoDB (a comparison across types is false there) but keeps moto,
/// which fails with an internal error when comparing a string with a number, from failing.
pub(crate) fn update_condition(cond: Option<&Cond>, u: &Update, key_attr: &str, ex: &mut Exprs) -> Option<String> {
    let mut parts: Vec<String> = cond.and_then(|c| condition(c, key_attr, ex)).into_iter().collect();
    for a in &u.actions {
        let UpdateAction::Add(n, d) = a else { continue };
        let (op, limit) = match d.signum() {
            1 => ("<=", i64::MAX - *d),
            -1 => (">=", i64::MIN - *d),
            _ => continue,
        };
        let name = ex.name(n);
        let number = ex.av(AttributeValue::S("N".into()));
        let limit = ex.value(&Value::N(limit));
        parts.push(format!(
            "(attribute_not_exists({name}) OR (attribute_type({name}, {number}) AND {name} {op} {limit}))"
        ));
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(parts.join(" AND ")),
    }
}

/// Renders a query's key condition.
pub(crate) fn key_condition(
    pk_attr: &str,
    pk: &str,
    sk_attr: Option<&str>,
    sk: Option<&SkCond>,
    ex: &mut Exprs,
) -> Result<String, StoreError> {
    let pk_name = ex.name(pk_attr);
    let pk_val = ex.av(AttributeValue::S(pk.to_owned()));
    let mut out = format!("{pk_name} = {pk_val}");
    let Some(c) = sk else { return Ok(out) };
    let attr =
        sk_attr.ok_or_else(|| StoreError::Validation("sort-key condition on a key without a sort key".into()))?;
    let n = ex.name(attr);
    let mut v = |s: &str| ex.av(AttributeValue::S(s.to_owned()));
    let part = match c {
        SkCond::Eq(s) => format!("{n} = {}", v(s)),
        SkCond::BeginsWith(s) => format!("begins_with({n}, {})", v(s)),
        SkCond::Between(lo, hi) => {
            let lo = v(lo);
            format!("{n} BETWEEN {lo} AND {}", v(hi))
        }
        SkCond::Lt(s) => format!("{n} < {}", v(s)),
        SkCond::Le(s) => format!("{n} <= {}", v(s)),
        SkCond::Gt(s) => format!("{n} > {}", v(s)),
        SkCond::Ge(s) => format!("{n} >= {}", v(s)),
    };
    out.push_str(" AND ");
    out.push_str(&part);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every placeholder registered is used in `exprs`, and every placeholder used is registered.
    fn assert_placeholders_consistent(
        exprs: &[&str],
        ex: Exprs,
    ) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
        let (names, values) = ex.into_maps();
        let names = names.unwrap_or_default();
        let values = values.unwrap_or_default();
        let all = exprs.join(" ");
        for p in names.keys().chain(values.keys()) {
            assert!(all.contains(p.as_str()), "unused placeholder {p} in {all}");
        }
        for tok in all.split(|c: char| !(c.is_ascii_alphanumeric() || c == '#' || c == ':')) {
            if tok.starts_with('#') {
                assert!(names.contains_key(tok), "unregistered name {tok} in {all}");
            }
            if tok.starts_with(':') {
                assert!(values.contains_key(tok), "unregistered value {tok} in {all}");
            }
        }
        (names, values)
    }

    #[test]
    fn condition_uses_placeholders_only() {
        let c = Cond::eq("state", "SECRET-VALUE")
            .and(Cond::begins_with("path", "PREFIX-TEXT"))
            .and(Cond::ne("count", Value::N(424242)).or(Cond::not_exists("weird name.with.dots")))
            .and(Cond::exists("state").not());
        let mut ex = Exprs::new();
        let s = condition(&c, "pk", &mut ex).unwrap();
        for leaked in ["SECRET", "PREFIX", "424242", "state", "path", "count", "weird", "dots"] {
            assert!(!s.contains(leaked), "{leaked} appears in {s}");
        }
        assert_eq!(
            s,
            "(#n0 = :v0 AND begins_with(#n1, :v1) AND ((attribute_exists(#n2) AND #n2 <> :v2) OR \
             attribute_not_exists(#n3)) AND (NOT attribute_exists(#n0)))"
        );
        let (names, values) = assert_placeholders_consistent(&[&s], ex);
        assert_eq!(names["#n0"], "state", "a name used twice gets one placeholder");
        assert_eq!(names["#n3"], "weird name.with.dots");
        assert_eq!(values[":v0"], AttributeValue::S("SECRET-VALUE".into()));
        assert_eq!(values[":v2"], AttributeValue::N("424242".into()));
    }

    #[test]
    fn constants_fold_without_unused_placeholders() {
        // Always true: no expression at all.
        let mut ex = Exprs::new();
        assert_eq!(condition(&Cond::And(vec![]), "pk", &mut ex), None);
        let mut ex = Exprs::new();
        let c = Cond::eq("a", Value::N(1)).or(Cond::And(vec![]));
        assert_eq!(condition(&c, "pk", &mut ex), None);
        assert_placeholders_consistent(&[], ex);
        // Ordering against a boolean is false; the AND is false; only the key name is registered.
        let mut ex = Exprs::new();
        let c = Cond::eq("a", Value::N(1)).and(Cond::lt("b", true));
        let s = condition(&c, "pk", &mut ex).unwrap();
        assert_eq!(s, "(attribute_exists(#n0) AND attribute_not_exists(#n0))");
        let (names, _) = assert_placeholders_consistent(&[&s], ex);
        assert_eq!(names.len(), 1);
        assert_eq!(names["#n0"], "pk");
        // NOT of a false constant is true; a single survivor needs no parentheses.
        let mut ex = Exprs::new();
        let c = Cond::Or(vec![]).not().and(Cond::exists("x"));
        assert_eq!(condition(&c, "pk", &mut ex).as_deref(), Some("attribute_exists(#n0)"));
        // A mandatory condition that always holds becomes a tautology.
        let mut ex = Exprs::new();
        let s = required_condition(&Cond::And(vec![]), "id", &mut ex);
        assert_eq!(s, "(attribute_exists(#n0) OR attribute_not_exists(#n0))");
    }

    #[test]
    fn update_and_guards_share_placeholders() {
        let u = Update::new().set("a", "VALUE-A").set_if_absent("b", Value::N(77)).add("c", 5).add("d", -3).remove("e");
        let mut ex = Exprs::new();
        let us = update(&u, &mut ex);
        assert_eq!(us, "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1) REMOVE #n4 ADD #n2 :v2, #n3 :v3");
        assert!(has_add_guards(&u));
        let cs = update_condition(Some(&Cond::eq("state", "open")), &u, "pk", &mut ex).unwrap();
        assert_eq!(
            cs,
            "#n5 = :v4 AND (attribute_not_exists(#n2) OR (attribute_type(#n2, :v5) AND #n2 <= :v6)) \
             AND (attribute_not_exists(#n3) OR (attribute_type(#n3, :v7) AND #n3 >= :v8))"
        );
        assert!(!us.contains("VALUE") && !cs.contains("open") && !cs.contains("state"));
        let (_, values) = assert_placeholders_consistent(&[&us, &cs], ex);
        assert_eq!(values[":v6"], AttributeValue::N((i64::MAX - 5).to_string()));
        assert_eq!(values[":v8"], AttributeValue::N((i64::MIN + 3).to_string()));
        // No guard for a zero ADD; no condition at all without one.
        let u = Update::new().set("x", "y").add("z", 0);
        assert!(!has_add_guards(&u));
        let mut ex = Exprs::new();
        assert_eq!(update_condition(None, &u, "pk", &mut ex), None);
        assert_placeholders_consistent(&[], ex);
    }

    #[test]
    fn key_conditions() {
        let mut ex = Exprs::new();
        let s =
            key_condition("pk", "USER#1", Some("sk"), Some(&SkCond::Between("A".into(), "B".into())), &mut ex).unwrap();
        assert_eq!(s, "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2");
        assert_placeholders_consistent(&[&s], ex);
        let mut ex = Exprs::new();
        let s = key_condition("owner", "alice", Some("rank"), Some(&SkCond::BeginsWith("r1".into())), &mut ex).unwrap();
        assert_eq!(s, "#n0 = :v0 AND begins_with(#n1, :v1)");
        let mut ex = Exprs::new();
        assert_eq!(key_condition("id", "x", None, None, &mut ex).unwrap(), "#n0 = :v0");
        let mut ex = Exprs::new();
        let e = key_condition("id", "x", None, Some(&SkCond::Eq("y".into())), &mut ex).unwrap_err();
        assert!(matches!(e, StoreError::Validation(_)));
    }
}
