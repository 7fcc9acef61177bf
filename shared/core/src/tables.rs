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

/// Staff accounts. `STAFF#<id>` / `PROFILE` holds the account (TOTP seeds sealed with the staff
/// sealer); `BOOTSTRAP` / `BOOTSTRAP` marks the one-time bootstrap; `gsi1` lists profiles by scope
/// (`MUNI#<code>` or `PLATFORM`). Only the staff sign-in and account functions may read it;
/// sessions live in [`STAFF_SESSIONS`]. (The TTL attribute stays declared so that session items
/// written here before the split still expire.)
pub static STAFF: TableDef = TableDef {
    name: "staff",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[IndexDef { name: "gsi1", pk: "gsi1pk", sk: Some("gsi1sk") }],
    ttl: Some("ttl"),
    purpose: "staff accounts (password hashes, sealed TOTP secrets); read by staff sign-in and account functions only",
};

/// Staff sessions: `STAFF#<id>` / `SESSION#<sid>`, expiring by TTL. Every route that needs
/// credentials reads it to check a staff token's session, so it holds nothing but the session.
pub static STAFF_SESSIONS: TableDef = TableDef {
    name: "staff-sessions",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[],
    ttl: Some("ttl"),
    purpose: "staff sessions (one item per open access token)",
};

/// The audit trail: hash chains `CHAIN#<JST date>#<shard>` of `SEQ#<n>` records and a `HEAD`.
/// Append-only: the platform never updates or deletes a record.
pub static AUDIT: TableDef = TableDef {
    name: "audit",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[],
    ttl: None,
    purpose: "append-only audit trail in per-day, per-shard hash chains",
};

/// People (the internal person behind a card), their certificate links, MyKey IDs and citizen
/// sessions. `PERSON#<pid>` holds `PROFILE`, `CERT#<issuer>#<serial>`, `MYKEY#<id>` (history) and
/// `SESSION#<sid>` items; `CERT#<issuer>#<serial>` / `LINK` and `MYKEY#<id>` / `CLAIM` are the
/// uniqueness items (one person per certificate, one person per MyKey ID, ever).
pub static PEOPLE: TableDef = TableDef {
    name: "people",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[],
    ttl: Some("ttl"),
    purpose: "people, certificate links, MyKey IDs and citizen sessions",
};

/// Card authentication state: one-time challenges (`CHALLENGE#<id>`), imported CRLs
/// (`CRL#<issuer>` / `CURRENT`) and their revoked serials (`REVOKED#<issuer>#<serial>`), and
/// linkage-feed imports (`FEED#<id>`).
pub static CARD_AUTH: TableDef = TableDef {
    name: "card-auth",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[],
    ttl: Some("ttl"),
    purpose: "card-auth challenges, revocation lists and linkage-feed imports",
};

/// The Mynapoint catalogue and its batch data: `PROVIDER#<id>` (`PROFILE`, inbound `SECRET#<n>`),
/// `SERVICE#<code>` (`CONFIG`, outbound `SECRET#<n>`), `MEASURE#<n>` / `CONFIG`, eligibility-feed
/// imports (`EFEED#<id>`) and reconciliation reports (`REPORT#…`). `gsi1` lists by kind
/// (`gsi1pk = SERVICES | PROVIDERS | REPORTS#<provider>`). See `docs/mynapoint.md`.
pub static PROGRAMS: TableDef = TableDef {
    name: "programs",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[IndexDef { name: "gsi1", pk: "gsi1pk", sk: Some("gsi1sk") }],
    ttl: Some("ttl"),
    purpose: "Mynapoint catalogue (providers, payment services, measures, sealed secrets), feed imports and reports",
};

/// Mynapoint applications and what hangs off them: `APP#<id>` / `APP` (the application, which is
/// also its own dispatch outbox entry while `gsi2pk` is set) and `EVENT#…` (provider callbacks);
/// the uniqueness items `PERSON#<pid>` / `MEASURE#<m>` (one application per person per measure)
/// and `ACCOUNT#<service>#<account>` / `MEASURE#<m>` (one person per service account per
/// measure); inbound webhook ids `CALLBACK#<provider>#<webhook id>` (dedupe, TTL). `gsi1` lists a
/// provider's applications by JST day (`PROV#<provider>#<date>`), `gsi2` is the sparse outbox of
/// applications not yet delivered (`OUTBOX#<shard>`), `gsi3` a person's applications
/// (`PERSON#<pid>`). See `docs/mynapoint.md`.
pub static APPLICATIONS: TableDef = TableDef {
    name: "applications",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[
        IndexDef { name: "gsi1", pk: "gsi1pk", sk: Some("gsi1sk") },
        IndexDef { name: "gsi2", pk: "gsi2pk", sk: Some("gsi2sk") },
        IndexDef { name: "gsi3", pk: "gsi3pk", sk: Some("gsi3sk") },
    ],
    ttl: Some("ttl"),
    purpose: "Mynapoint applications, their uniqueness items, callback events and webhook-id dedupe",
};

/// The point ledger: accounts `ACCOUNT#<id>` / `ACCOUNT` with their entries `ENTRY#<transfer>`,
/// transfers `TRANSFER#<id>` / `TRANSFER`, and the account list `ACCOUNTS` / `<id>` (see
/// `ledger`). Never expires: points are money.
pub static LEDGER: TableDef = TableDef {
    name: "ledger",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[],
    ttl: None,
    purpose: "the point ledger: double-entry accounts, pending/posted/voided transfers and their entries",
};

/// All tables, in manifest order.
pub static ALL: &[&TableDef] =
    &[&OPS, &IDEMPOTENCY, &STAFF, &STAFF_SESSIONS, &AUDIT, &PEOPLE, &CARD_AUTH, &PROGRAMS, &APPLICATIONS, &LEDGER];
