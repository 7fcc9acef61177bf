//! Instants on the wire and in the store. Stored: UTC, whole seconds, fixed width
//! (`2026-11-25T22:00:00Z`) so that string order is time order. Shown: Asia/Tokyo
//! (`2026-11-26T07:00:00+09:00`). Accepted: any RFC 3339 instant with an offset.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::ports::JST;

/// Parses an RFC 3339 instant (with offset), dropping sub-second digits.
pub fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map_err(|_| "expected an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+09:00".to_owned())?;
    t.replace_nanosecond(0).map_err(|e| e.to_string())
}

/// The stored form: UTC, whole seconds, fixed width.
pub fn to_store(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(UtcOffset::UTC).format(&f).unwrap_or_default()
}

pub fn from_store(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| format!("stored instant {s:?} is malformed"))
}

/// The displayed form: Asia/Tokyo, RFC 3339.
pub fn to_jst(t: OffsetDateTime) -> String {
    t.to_offset(JST).replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// The Asia/Tokyo calendar date of an instant (`YYYY-MM-DD`): business dates.
pub fn jst_date(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day]");
    t.to_offset(JST).date().format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        let t = parse_instant("2026-12-01T09:00:00.123+09:00").unwrap();
        assert_eq!(to_store(t), "2026-12-01T00:00:00Z");
        assert_eq!(jst_date(parse_instant("2026-11-30T15:00:00Z").unwrap()), "2026-12-01");
        assert_eq!(jst_date(parse_instant("2026-11-30T14:59:59Z").unwrap()), "2026-11-30");
        assert_eq!(to_jst(t), "2026-12-01T09:00:00+09:00");
        assert_eq!(from_store(&to_store(t)).unwrap(), t);
        assert!(to_store(t) < to_store(t + time::Duration::seconds(1)));
        assert!(parse_instant("2026-12-01 09:00").is_err());
        assert!(parse_instant("2026-12-01T09:00:00").is_err(), "an offset is required");
    }
}
