//! Paging on the wire: `limit` and `cursor` (a store cursor as base64url JSON), one set of rules
//! and errors for every paged list. Use cases check that a cursor belongs to the list it is used
//! on ([`foreign`] is that refusal).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use mkpf_core::ports::Cursor;

/// A paged list's rules: the default and largest `limit` (the smallest is 1) and the longest
/// `cursor` accepted.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub default_limit: u32,
    pub max_limit: u32,
    pub max_cursor_len: usize,
}

/// The lists of the API: 1–100 items a page (default 50), cursors of up to 2048 characters.
pub const LISTS: Paging = Paging { default_limit: 50, max_limit: 100, max_cursor_len: 2048 };

impl Paging {
    /// The `limit` (400 `invalid_query` outside 1..=max) and decoded `cursor` (400
    /// `invalid_cursor`) of a paged request.
    pub fn page<C: DeserializeOwned>(
        self,
        limit: Option<impl TryInto<u32>>,
        cursor: Option<&str>,
    ) -> Result<(u32, Option<C>), ApiError> {
        let limit = match limit {
            None => self.default_limit,
            Some(n) => n.try_into().ok().filter(|n| (1..=self.max_limit).contains(n)).ok_or_else(|| {
                ApiError::bad_request("invalid_query", format!("limit must be from 1 to {}", self.max_limit))
            })?,
        };
        let cursor = cursor.map(|s| decode_within(s, self.max_cursor_len)).transpose()?;
        Ok((limit, cursor))
    }
}

/// The `limit` (1–100, default 50) and decoded `cursor` of a paged list request ([`LISTS`]).
pub fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<Cursor>), ApiError> {
    LISTS.page(limit, cursor)
}

/// A cursor as it goes on the wire.
pub fn encode<C: Serialize>(c: &C) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

/// A store cursor of a [`LISTS`] list.
pub fn decode(s: &str) -> Result<Cursor, ApiError> {
    decode_within(s, LISTS.max_cursor_len)
}

fn decode_within<C: DeserializeOwned>(s: &str, max_len: usize) -> Result<C, ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned");
    if s.len() > max_len {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// A well-formed cursor of another list (the use case refused it).
pub fn foreign() -> ApiError {
    ApiError::bad_request("invalid_cursor", "the cursor does not belong to this list")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mkpf_core::ports::{Item, Value};

    #[test]
    fn round_trip_and_garbage() {
        let mut i = Item::new();
        i.insert("pk".into(), Value::S("NOTICE".into()));
        let c = Cursor(i);
        assert_eq!(decode(&encode(&c)).unwrap(), c);
        assert_eq!(decode("!!!").unwrap_err().code, "invalid_cursor");
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(b"[1]")).unwrap_err().code, "invalid_cursor");
    }

    #[test]
    fn limits_and_cursor_length_follow_the_rules() {
        assert_eq!(page(None, None).unwrap().0, 50);
        assert_eq!(page(Some(0), None).unwrap_err().detail, "limit must be from 1 to 100");
        assert_eq!(page(Some(101), None).unwrap_err().code, "invalid_query");
        let export = Paging { default_limit: 1000, max_limit: 5000, max_cursor_len: 512 };
        assert_eq!(export.page::<Cursor>(None::<usize>, None).unwrap().0, 1000);
        assert_eq!(export.page::<Cursor>(Some(usize::MAX), None).unwrap_err().detail, "limit must be from 1 to 5000");
        let long = "A".repeat(513);
        assert_eq!(export.page::<Cursor>(Some(5000usize), Some(&long)).unwrap_err().code, "invalid_cursor");
    }
}
