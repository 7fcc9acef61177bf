//! Refusals of callers who proved nothing — a bearer token that does not verify, a callback whose
//! signature does not — are counted, and audited in aggregate: never one audit write per
//! anonymous request, so a flood of garbage cannot become a write flood on the audit table.
//!
//! Every refusal counts in the `refused_requests` metric (dimensions `action`, `code`) at once.
//! The audit trail gets one `refusals.summary` record per process and window
//! ([`WINDOW_SECS`]): totals per action and code, and the [`TOP_SOURCES`] busiest source keys
//! (IPv4 address, IPv6 /64) with their counts. A window's summary is written by the first request
//! the process serves after the window ends (or by [`flush`], e.g. at shutdown). A Lambda instance
//! that is never invoked again takes its last window with it; the metric still counted it.
//!
//! Refusals of callers who *did* authenticate (a staff member refused by a route's access list, a
//! provider's correctly signed callback that is refused on its content) stay individual audit
//! records: those callers are accountable and cannot multiply themselves.

use crate::caps::{Audits, Refusing};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Actor, Context, Event};

/// Length of one aggregation window.
pub const WINDOW_SECS: i64 = 60;
/// Sources named in a summary.
pub const TOP_SOURCES: usize = 20;
/// Distinct sources counted per window; beyond that they count as `other_sources`.
const MAX_SOURCES: usize = 1_000;

#[derive(Debug, Default)]
struct Window {
    start: i64,
    total: u64,
    by_kind: BTreeMap<(&'static str, String), u64>,
    sources: HashMap<String, u64>,
    other_sources: u64,
}

/// A finished window, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub start: i64,
    pub total: u64,
    pub by_kind: Vec<(&'static str, String, u64)>,
    pub top_sources: Vec<(String, u64)>,
    /// Refusals from sources not among the top ones.
    pub other_sources: u64,
}

/// This process's open window.
#[derive(Debug, Default)]
pub struct Refusals {
    open: Mutex<Option<Window>>,
}

impl Refusals {
    /// Counts one refusal at `now` (epoch seconds); returns the previous window if it has ended.
    pub fn note(&self, now: i64, action: &'static str, code: &str, source: Option<&str>) -> Option<Summary> {
        let start = now - now.rem_euclid(WINDOW_SECS);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let done = match open.as_ref() {
            Some(w) if w.start != start => open.take().map(summarise),
            _ => None,
        };
        let w = open.get_or_insert_with(|| Window { start, ..Window::default() });
        w.total += 1;
        *w.by_kind.entry((action, code.to_owned())).or_default() += 1;
        let key = crate::rate_limit::source_key(source.unwrap_or("unknown"));
        let room = w.sources.len() < MAX_SOURCES;
        match w.sources.get_mut(&key) {
            Some(n) => *n += 1,
            None if room => {
                w.sources.insert(key, 1);
            }
            None => w.other_sources += 1,
        }
        done
    }

    /// The open window if it has ended by `now` (or any open window with `force`).
    pub fn take_due(&self, now: i64, force: bool) -> Option<Summary> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match open.as_ref() {
            Some(w) if force || now >= w.start + WINDOW_SECS => open.take().map(summarise),
            _ => None,
        }
    }
}

fn summarise(w: Window) -> Summary {
    let mut sources: Vec<(String, u64)> = w.sources.into_iter().collect();
    sources.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: u64 = sources.iter().skip(TOP_SOURCES).map(|s| s.1).sum();
    sources.truncate(TOP_SOURCES);
    Summary {
        start: w.start,
        total: w.total,
        by_kind: w.by_kind.into_iter().map(|((a, c), n)| (a, c, n)).collect(),
        top_sources: sources,
        other_sources: w.other_sources + rest,
    }
}

/// Counts a refusal of an unauthenticated caller (`ctx` gives its source) and writes the previous
/// window's summary if that one has ended.
pub async fn refused(app: &impl Refusing, ctx: &Context, action: &'static str, code: &str) {
    app.metrics().count("refused_requests", &[("action", action), ("code", code)], 1);
    let due = app.refusals().note(app.clock().epoch_secs(), action, code, ctx.source_ip.as_deref());
    if let Some(s) = due {
        write(app, s).await;
    }
}

/// Writes the open window's summary if it has ended (`force`: whatever its age).
pub async fn flush(app: &impl Refusing, force: bool) {
    if let Some(s) = app.refusals().take_due(app.clock().epoch_secs(), force) {
        write(app, s).await;
    }
}

async fn write(app: &impl Audits, s: Summary) {
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default()
    };
    let detail = serde_json::json!({
        "code": "refused",
        "window_start": at(s.start),
        "window_end": at(s.start + WINDOW_SECS),
        "total": s.total,
        "by_action": s.by_kind.iter().map(|(a, c, n)| serde_json::json!({"action": a, "code": c, "count": n})).collect::<Vec<_>>(),
        "top_sources": s.top_sources.iter().map(|(k, n)| serde_json::json!({"source": k, "count": n})).collect::<Vec<_>>(),
        "other_sources": s.other_sources,
    });
    let ev = Event::denied("refusals.summary", vec![], "refused").with_detail(detail);
    let ctx = Context::new(Actor::job("refusal-accounting"));
    if let Err(err) = super::commit_event(app, &ctx, ev).await {
        tracing::error!(error = %err, total = s.total, "could not audit a refusal summary");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_aggregates_and_is_handed_over_once_it_has_ended() {
        let r = Refusals::default();
        assert_eq!(r.note(120, "auth.denied", "token_invalid", Some("192.0.2.1")), None);
        for i in 0..30 {
            assert_eq!(r.note(150, "auth.denied", "token_invalid", Some(&format!("2001:db8:0:{i}::1"))), None);
            assert_eq!(r.note(151, "mynapoint.callback", "signature_invalid", Some("192.0.2.1")), None);
        }
        assert_eq!(r.take_due(179, false), None, "the window is still open");
        let s = r.note(180, "auth.denied", "token_invalid", Some("192.0.2.9")).expect("the first window");
        assert_eq!((s.start, s.total), (120, 61));
        assert_eq!(
            s.by_kind,
            vec![
                ("auth.denied", "token_invalid".to_owned(), 31),
                ("mynapoint.callback", "signature_invalid".to_owned(), 30)
            ]
        );
        assert_eq!(s.top_sources[0], ("192.0.2.1".to_owned(), 31));
        assert_eq!(s.top_sources.len(), TOP_SOURCES);
        assert_eq!(s.other_sources, 61 - 31 - (TOP_SOURCES as u64 - 1));
        let s = r.take_due(240, false).expect("the second window has ended");
        assert_eq!((s.start, s.total), (180, 1));
        assert_eq!(r.take_due(10_000, true), None, "nothing open");
    }
}
