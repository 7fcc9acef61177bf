//! Notices (お知らせ): announcements shown on citizen screens, published in a time window.

use time::OffsetDateTime;

/// A notice id (UUID v7: time-ordered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeId(String);

impl NoticeId {
    pub fn generate() -> Self {
        NoticeId(uuid::Uuid::now_v7().to_string())
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        let u = uuid::Uuid::parse_str(s).map_err(|_| "not a notice id".to_owned())?;
        if u.hyphenated().to_string() != s {
            return Err("not a notice id (use the lower-case hyphenated form)".into());
        }
        Ok(NoticeId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_text(s: &str, max: usize, allow_newlines: bool) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    let n = t.chars().count();
    if n > max {
        return Err(format!("at most {max} characters ({n} given)"));
    }
    if t.chars().any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t'))) {
        return Err("contains control characters".into());
    }
    Ok(t.to_owned())
}

/// A notice title: 1–120 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(s: &str) -> Result<Self, String> {
        check_text(s, 120, false).map(Title)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A notice body: 1–4000 characters, newlines allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub fn parse(s: &str) -> Result<Self, String> {
        check_text(s, 4000, true).map(Body)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How prominently citizen screens show a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Important,
}

impl Severity {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "important" => Ok(Severity::Important),
            _ => Err("expected `info` or `important`".into()),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Important => "important",
        }
    }
}

/// When a notice is shown: from `from` (inclusive) until `until` (exclusive, open-ended if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
}

impl Window {
    pub fn new(from: OffsetDateTime, until: Option<OffsetDateTime>) -> Result<Self, String> {
        if let Some(u) = until
            && u <= from
        {
            return Err("publish_until must be after publish_from".into());
        }
        Ok(Window { from, until })
    }
    pub fn from(&self) -> OffsetDateTime {
        self.from
    }
    pub fn until(&self) -> Option<OffsetDateTime> {
        self.until
    }
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        t >= self.from && self.until.is_none_or(|u| t < u)
    }
}

/// Where a notice stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Scheduled,
    Published,
    Expired,
    Withdrawn,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::Published => "published",
            State::Expired => "expired",
            State::Withdrawn => "withdrawn",
        }
    }
}

/// A notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: NoticeId,
    pub title: Title,
    pub body: Body,
    pub severity: Severity,
    pub window: Window,
    pub withdrawn_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

impl Notice {
    pub fn state_at(&self, now: OffsetDateTime) -> State {
        if self.withdrawn_at.is_some() {
            State::Withdrawn
        } else if now < self.window.from {
            State::Scheduled
        } else if self.window.contains(now) {
            State::Published
        } else {
            State::Expired
        }
    }

    /// From when the retention job may delete the notice: `retention` after it was withdrawn or
    /// after its window closed; never for an open-ended live notice.
    pub fn purge_after(&self, retention: time::Duration) -> Option<OffsetDateTime> {
        match (self.withdrawn_at, self.window.until) {
            (Some(w), _) => Some(w + retention),
            (None, Some(u)) => Some(u + retention),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn notice(from: OffsetDateTime, until: Option<OffsetDateTime>) -> Notice {
        Notice {
            id: NoticeId::generate(),
            title: Title::parse("t").unwrap(),
            body: Body::parse("b").unwrap(),
            severity: Severity::Info,
            window: Window::new(from, until).unwrap(),
            withdrawn_at: None,
            created_at: from,
            created_by: "op".into(),
            updated_at: from,
            version: 1,
        }
    }

    #[test]
    fn texts_are_bounded_and_clean() {
        assert_eq!(Title::parse("  メンテナンスのお知らせ ").unwrap().as_str(), "メンテナンスのお知らせ");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"あ".repeat(121)).is_err());
        assert!(Title::parse(&"あ".repeat(120)).is_ok());
        assert!(Title::parse("a\nb").is_err());
        assert!(Body::parse("a\nb").is_ok());
        assert!(Body::parse("a\u{7}b").is_err());
        assert!(NoticeId::parse("not-a-uuid").is_err());
        assert!(NoticeId::parse(&uuid::Uuid::now_v7().to_string().to_uppercase()).is_err());
    }

    #[test]
    fn state_follows_the_window() {
        let from = datetime!(2026-12-01 0:00 UTC);
        let mut n = notice(from, Some(from + time::Duration::days(2)));
        assert_eq!(n.state_at(from - time::Duration::seconds(1)), State::Scheduled);
        assert_eq!(n.state_at(from), State::Published);
        assert_eq!(n.state_at(from + time::Duration::days(2)), State::Expired);
        n.withdrawn_at = Some(from);
        assert_eq!(n.state_at(from + time::Duration::hours(1)), State::Withdrawn);
        assert!(Window::new(from, Some(from)).is_err());
    }

    proptest! {
        #[test]
        fn published_iff_inside_the_window(start in 0i64..1_000_000, len in 1i64..1_000_000, probe in -10i64..3_000_000) {
            let base = datetime!(2026-01-01 0:00 UTC);
            let from = base + time::Duration::seconds(start);
            let until = from + time::Duration::seconds(len);
            let n = notice(from, Some(until));
            let t = base + time::Duration::seconds(probe);
            prop_assert_eq!(n.state_at(t) == State::Published, t >= from && t < until);
            prop_assert_eq!(n.purge_after(time::Duration::days(1)), Some(until + time::Duration::days(1)));
        }
    }
}
