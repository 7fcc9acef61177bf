//! The pipeline's parsing with a tiny feed kind (`name,count`); the batch and view steps are
//! tested against the embedded store in `mkpf-runtime`'s `feeds` tests.

use crate::testing::tally_feed::{Seen, TallyRow};

use super::*;
use crate::audit::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally(&'static str);

impl FeedKind for Tally {
    type Row = TallyRow;
    type Outcome = Seen;
    const FAMILY: Family = Family {
        table: &crate::tables::PROGRAMS,
        prefix: "TFEED",
        queue: &crate::queues::OPS_TASKS,
        name: "tally",
        import_event: "test.tally_import",
        target: "tfeed",
    };
    fn kind(&self) -> Option<&'static str> {
        Some(self.0)
    }
    fn of_batch(kind: Option<&str>) -> Result<Tally, StoreError> {
        match kind {
            Some("a") => Ok(Tally("a")),
            Some("b") => Ok(Tally("b")),
            k => Err(StoreError::Corrupt(format!("no tally {k:?}"))),
        }
    }
    fn header(&self) -> &'static str {
        "name,count"
    }
    fn parse_row(&self, line: u32, f: &[String]) -> Result<TallyRow, String> {
        let count = f[1].parse().map_err(|_| "field 2: expected a count".to_owned())?;
        Ok(TallyRow { line, name: f[0].clone(), count })
    }
    fn id_salt(&self) -> String {
        format!("tally {}\n", self.0)
    }
    async fn apply(
        &self,
        _app: &(impl crate::caps::Audits + crate::caps::Queues),
        _ctx: &Context,
        _feed_id: &str,
        _batch: u32,
        rows: &[TallyRow],
    ) -> Result<Applied<Seen>, StoreError> {
        Ok(Applied::outcomes(rows.iter().map(|r| if r.count % 2 == 1 { Seen::Odd } else { Seen::Counted }).collect()))
    }
}

#[test]
fn same_rows_same_id_whatever_the_spelling() {
    let a = parse(Tally("a"), "name,count\nx,1\ny,2\n").unwrap();
    assert_eq!(a.id.len(), 32);
    assert_eq!((a.rows[1].line, a.rows[1].name.as_str(), a.rows[1].count), (3, "y", 2));
    let spelled = "\u{feff}\"name\",\"count\"\r\n\r\n\" x \",\"1\"\r\ny,2\r\n\r\n";
    let b = parse(Tally("a"), spelled).unwrap();
    assert_eq!(b.id, a.id, "BOM, CRLF, quotes, spaces and blank lines do not change the id");
    assert_eq!(b.rows[0].line, 3);
    assert_ne!(parse(Tally("b"), "name,count\nx,1\ny,2\n").unwrap().id, a.id, "the salt does");
    assert_ne!(parse(Tally("a"), "name,count\ny,2\nx,1\n").unwrap().id, a.id, "and the rows' order");
}

#[test]
fn the_id_is_the_salt_and_rows_hashed() {
    use sha2::Digest;
    let got = parse(Tally("a"), "name,count\nx,1\n").unwrap().id;
    let want = hex::encode(&sha2::Sha256::digest("tally a\nx,1\n")[..16]);
    assert_eq!(got, want);
}

#[test]
fn refusals_name_the_line() {
    let refused = |text: &str| parse(Tally("a"), text).unwrap_err();
    assert_eq!(refused("name\nx\n"), FeedError { line: 1, why: "the first line must be exactly `name,count`".into() });
    assert_eq!(refused("").line, 1);
    assert_eq!(refused("\"name,count\nx,1\n").line, 1, "an unreadable header");
    assert_eq!(refused("name,count\n\n"), FeedError { line: 2, why: "the feed has no rows".into() });
    assert_eq!(refused("name,count\nx,1\n\ny\n"), FeedError { line: 4, why: "expected 2 fields, found 1".into() });
    assert_eq!(refused("name,count\nx,1,2\n").why, "expected 2 fields, found 3");
    assert_eq!(refused("name,count\nx,1\nx,-1\n"), FeedError { line: 3, why: "field 2: expected a count".into() });
    assert_eq!(refused("name,count\nx,1\nx,-1\n").to_string(), "line 3: field 2: expected a count");
}

#[test]
fn batches_carry_the_kind_only_in_a_family_of_several() {
    let b = Batch { feed_id: "f".into(), kind: None, batch: 3, rows: Vec::<TallyRow>::new() };
    assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"feed_id":"f","batch":3,"rows":[]}"#);
    let k = Batch { kind: Some("a".into()), ..b };
    assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"feed_id":"f","kind":"a","batch":3,"rows":[]}"#);
    let read: Batch<TallyRow> = serde_json::from_str(r#"{"feed_id":"f","batch":3,"rows":[]}"#).unwrap();
    assert_eq!(read.kind, None);
}
