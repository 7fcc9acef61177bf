//! Paging on the wire: `limit` and `cursor` (the store's cursor as base64url JSON). Use cases
//! check that a cursor belongs to the list it is used on.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::problem::ApiError;
use mkpf_core::ports::Cursor;

pub fn encode(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

/// The `limit` (1–100, default 50) and decoded `cursor` of a paged list request.
pub fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<Cursor>), ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit must be from 1 to 100"));
    }
    Ok((limit, cursor.map(decode).transpose()?))
}

pub fn decode(s: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned");
    if s.len() > 2048 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
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
}
