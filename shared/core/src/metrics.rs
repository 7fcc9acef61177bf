//! Metrics: counters and timings aggregated in memory, emitted as CloudWatch Embedded Metric
//! Format (EMF) log lines on Lambda, and shown by `GET /metrics` on the local platform.
//!
//! On Lambda, the runtime calls [`Metrics::flush_emf`] after every invocation: CloudWatch turns
//! the log lines into metrics with no API call. Locally the same registry keeps accumulating.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;

/// CloudWatch namespace of every platform metric.
pub const NAMESPACE: &str = "MKPF";

type Dims = Vec<(&'static str, String)>;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Aggregate {
    pub count: u64,
    /// Sum of the recorded values (milliseconds for timings).
    pub sum: f64,
    pub max: f64,
    #[serde(skip)]
    values: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The registry. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<BTreeMap<(&'static str, Unit, Dims), Aggregate>>,
}

/// One metric series in a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub unit: Unit,
    pub dimensions: BTreeMap<&'static str, String>,
    pub count: u64,
    pub sum: f64,
    pub max: f64,
}

/// Keeps at most this many raw values per series between flushes (EMF takes up to 100).
const MAX_VALUES: usize = 100;

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, name: &'static str, unit: Unit, dims: &[(&'static str, &str)], value: f64) {
        let dims: Dims = dims.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let a = g.entry((name, unit, dims)).or_default();
        a.count += 1;
        a.sum += value;
        if value > a.max {
            a.max = value;
        }
        if a.values.len() < MAX_VALUES {
            a.values.push(value);
        }
    }

    /// Adds `n` to a counter.
    pub fn count(&self, name: &'static str, dims: &[(&'static str, &str)], n: u64) {
        self.record(name, Unit::Count, dims, n as f64);
    }

    /// Records a duration in milliseconds.
    pub fn timing(&self, name: &'static str, dims: &[(&'static str, &str)], ms: f64) {
        self.record(name, Unit::Milliseconds, dims, ms);
    }

    /// Every series with its totals since start (or since the last flush on Lambda).
    pub fn snapshot(&self) -> Vec<Series> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.iter()
            .map(|((name, unit, dims), a)| Series {
                name,
                unit: *unit,
                dimensions: dims.iter().cloned().collect(),
                count: a.count,
                sum: a.sum,
                max: a.max,
            })
            .collect()
    }

    /// Renders the registry as EMF lines (one per series) and resets it.
    pub fn take_emf(&self, timestamp_ms: i64) -> Vec<String> {
        let drained = std::mem::take(&mut *self.inner.lock().unwrap_or_else(|e| e.into_inner()));
        drained
            .into_iter()
            .map(|((name, unit, dims), a)| {
                let mut obj = serde_json::Map::new();
                let dim_names: Vec<&str> = dims.iter().map(|(k, _)| *k).collect();
                obj.insert(
                    "_aws".into(),
                    serde_json::json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": NAMESPACE,
                            "Dimensions": [dim_names],
                            "Metrics": [{"Name": name, "Unit": unit.as_str()}],
                        }],
                    }),
                );
                for (k, v) in dims {
                    obj.insert(k.into(), serde_json::Value::String(v));
                }
                let value = match unit {
                    // A counter's values add up: one datum with the total.
                    Unit::Count => serde_json::json!(a.sum),
                    Unit::Milliseconds => serde_json::json!(a.values),
                };
                obj.insert(name.into(), value);
                serde_json::Value::Object(obj).to_string()
            })
            .collect()
    }

    /// Writes the EMF lines to stdout (where Lambda ships them to CloudWatch Logs) and resets.
    pub fn flush_emf(&self, timestamp_ms: i64) {
        let lines = self.take_emf(timestamp_ms);
        if lines.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_timings_aggregate_per_dimension_set() {
        let m = Metrics::new();
        m.count("requests", &[("route", "a")], 1);
        m.count("requests", &[("route", "a")], 2);
        m.count("requests", &[("route", "b")], 1);
        m.timing("latency", &[("route", "a")], 4.0);
        m.timing("latency", &[("route", "a")], 10.0);
        let s = m.snapshot();
        let a = s.iter().find(|x| x.name == "requests" && x.dimensions["route"] == "a").unwrap();
        assert_eq!((a.count, a.sum), (2, 3.0));
        let l = s.iter().find(|x| x.name == "latency").unwrap();
        assert_eq!((l.count, l.sum, l.max), (2, 14.0, 10.0));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn emf_lines_follow_the_format_and_reset() {
        let m = Metrics::new();
        m.count("requests", &[("route", "notices-create"), ("status", "2xx")], 3);
        m.timing("latency", &[("route", "notices-create")], 7.5);
        let lines = m.take_emf(1_700_000_000_000);
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "MKPF");
        assert_eq!(cw["Metrics"][0]["Name"], "requests");
        assert_eq!(cw["Dimensions"][0], serde_json::json!(["route", "status"]));
        assert_eq!(v["route"], "notices-create");
        assert_eq!(v["requests"], 3.0);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let t: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(t["latency"], serde_json::json!([7.5]));
        assert!(m.snapshot().is_empty(), "flushed");
    }
}
