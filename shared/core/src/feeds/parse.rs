//! Steps 1 and 2 of the pipeline: a feed's text to its rows and import id.

use sha2::Digest;

use super::{Feed, FeedError, FeedKind, MAX_ROWS, Row};
use crate::domain::csv_rows;

/// Parses and checks a whole feed of `kind`; its id depends on the kind's salt and the rows.
pub fn parse<K: FeedKind>(kind: K, text: &str) -> Result<Feed<K>, FeedError> {
    let err = |line: u32, why: String| FeedError { line, why };
    let header = kind.header();
    let mut records = csv_rows::records(text);
    let first = records.next().and_then(Result::ok).map(|h| h.joined());
    if first.as_deref() != Some(header) {
        return Err(err(1, kind.wrong_header(first.as_deref())));
    }
    let fields = header.split(',').count();
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| err(e.line, e.why))?;
        let (line, f) = (record.line, &record.fields);
        if rows.len() == MAX_ROWS {
            return Err(err(line, format!("a feed holds at most {MAX_ROWS} rows; split it")));
        }
        if f.len() != fields {
            return Err(err(line, format!("expected {fields} fields, found {}", f.len())));
        }
        rows.push(kind.parse_row(line, f).map_err(|why| err(line, why))?);
    }
    if rows.is_empty() {
        return Err(err(2, "the feed has no rows".into()));
    }
    let mut h = sha2::Sha256::new();
    h.update(kind.id_salt());
    for r in &rows {
        h.update(format!("{}\n", r.id_line()));
    }
    let id = hex::encode(&h.finalize()[..16]);
    Ok(Feed { id, kind, rows })
}
