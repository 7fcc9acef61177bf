//! Every DynamoDB table of the platform, declared once. Both store adapters and the infra
//! manifest read these definitions; `docs/data-model.md` lists the access patterns.

use crate::ports::store::{IndexDef, TableDef};

/// Operations data: notices (and, later, the smartphone list, postal codes, business periods).
/// Items are `pk = <KIND>`, `sk = <id>`; `gsi1` serves "currently published" style lookups.
pub static OPS: TableDef = TableDef {
    name: "ops",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[IndexDef { name: "gsi1", pk: "gsi1pk", sk: Some("gsi1sk") }],
    ttl: Some("ttl"),
    purpose: "operations data: notices",
};

/// Stored responses of creating POSTs, keyed by route, caller and `Idempotency-Key`; expire by TTL.
pub static IDEMPOTENCY: TableDef = TableDef {
    name: "idempotency",
    pk: "pk",
    sk: None,
    indexes: &[],
    ttl: Some("ttl"),
    purpose: "idempotency records of creating requests (24 h)",
};

/// All tables, in manifest order.
pub static ALL: &[&TableDef] = &[&OPS, &IDEMPOTENCY];
