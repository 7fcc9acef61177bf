//! The MyKey ID lifecycle: create, read, suggest, change, revoke. One person has at most one
//! active MyKey ID, always; a MyKey ID belongs to at most one person, ever.
//!
//! Items (table `people`):
//! - `MYKEY#<ID>` / `CLAIM`: `person_id`, `claimed_at`, `state` (`active` | `retired`), and
//!   `retired_at` once retired. Written by a conditional put (`attribute_not_exists(pk)`), so two
//!   people can never hold the same ID. Claims are **permanent**: an ID that was changed away from
//!   or revoked stays claimed (retired) and is never given to anyone else — not even back to the
//!   same person — because downstream systems may still hold it.
//! - `PERSON#<pid>` / `MYKEY#<ID>`: the person's history, one item per ID they have held:
//!   `mykey_id`, `state` (`active` | `retired`), `created_at`, and once retired `retired_at` and
//!   `retired_reason` (`changed` | `revoked`).
//! - `PERSON#<pid>` / `PROFILE`: its `mykey_id` attribute is the active ID, absent when there is
//!   none. The conditions on it (`attribute_not_exists(mykey_id)` on create, `mykey_id = <old>` on
//!   change and revoke) are what keeps one active ID per person under concurrent requests.
//!
//! Every change is one audited transaction ([`audit::commit`]): `mykey.create`, `mykey.change`,
//! `mykey.revoke`, with the targets `person:<pid>` and `mykey:<ID>` (the old ID first on a change).
//! Reading a person's MyKey data ([`get`]: it includes their certificates) is audited as
//! `mykey.read`. Audit details hold only counts and ids.
//!
//! Creating and changing are refused for a *lapsed* person (every linked certificate revoked or
//! expired, [`person::standing`]); reading and revoking are not (revoking starts nothing new).
//! Creating is also refused while the person waits for a renewal linkage
//! ([`person::link_pending_until`]): a person holding a MyKey ID can no longer be merged into the
//! person of the certificate it may succeed, so the ID waits until the feed has merged it or the
//! hold has ended.

use serde_json::json;
use time::OffsetDateTime;

use super::id::MyKeyId;
use super::person::{self, PersonId, RequireError, Standing, StandingError};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Configured, Revocations, Stores};
use crate::domain::time_fmt::{from_store, to_store};
use crate::ports::store::*;
use crate::tables::PEOPLE;

pub const CLAIM_SK: &str = "CLAIM";
pub const HISTORY_PREFIX: &str = "MYKEY#";
/// Fresh IDs tried after a claim collision before giving up (with 31^8 IDs a single collision is
/// already rare).
pub const CLAIM_RETRIES: usize = 5;
/// How many suggestions `suggestions` returns, and how many candidates it reads at most.
pub const SUGGESTIONS: usize = 3;
const SUGGESTION_CANDIDATES: usize = 10;
/// Attempts of a revoke that loses a race with a concurrent change.
const REVOKE_ATTEMPTS: usize = 3;

/// The claim item of an ID.
pub fn claim_key(id: &MyKeyId) -> Key {
    Key::new(format!("{HISTORY_PREFIX}{id}"), CLAIM_SK)
}
/// The person's history item of an ID.
pub fn history_key(pid: &PersonId, id: &MyKeyId) -> Key {
    Key::new(person::pk(pid), format!("{HISTORY_PREFIX}{id}"))
}

/// Whether an ID is the person's current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdState {
    Active,
    Retired,
}

impl IdState {
    pub fn as_str(self) -> &'static str {
        match self {
            IdState::Active => "active",
            IdState::Retired => "retired",
        }
    }
    fn parse(s: &str) -> Result<IdState, StoreError> {
        match s {
            "active" => Ok(IdState::Active),
            "retired" => Ok(IdState::Retired),
            _ => Err(StoreError::Corrupt(format!("unknown MyKey ID state {s:?}"))),
        }
    }
}

/// Why an ID was retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetiredReason {
    /// The holder changed to another ID.
    Changed,
    /// The holder revoked it.
    Revoked,
}

impl RetiredReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetiredReason::Changed => "changed",
            RetiredReason::Revoked => "revoked",
        }
    }
    fn parse(s: &str) -> Result<RetiredReason, StoreError> {
        match s {
            "changed" => Ok(RetiredReason::Changed),
            "revoked" => Ok(RetiredReason::Revoked),
            _ => Err(StoreError::Corrupt(format!("unknown MyKey ID retirement reason {s:?}"))),
        }
    }
}

/// One ID in a person's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: MyKeyId,
    pub state: IdState,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub retired_reason: Option<RetiredReason>,
}

impl HistoryEntry {
    fn from_item(i: &Item) -> Result<HistoryEntry, StoreError> {
        let time = |s: &str| from_store(s).map_err(StoreError::Corrupt);
        Ok(HistoryEntry {
            id: MyKeyId::parse(i.s("mykey_id")?).map_err(StoreError::Corrupt)?,
            state: IdState::parse(i.s("state")?)?,
            created_at: time(i.s("created_at")?)?,
            retired_at: i.opt_s("retired_at").map(time).transpose()?,
            retired_reason: i.opt_s("retired_reason").map(RetiredReason::parse).transpose()?,
        })
    }
}

/// What `get` returns: the person's own MyKey data.
#[derive(Debug, Clone)]
pub struct MyKeyState {
    /// The active ID, if any.
    pub active: Option<MyKeyId>,
    /// Linked certificates and where each stands; [`Standing::lapsed`] says whether the person
    /// may create or change an ID.
    pub standing: Standing,
    /// Every ID the person has held, the active one first, then the most recently retired.
    pub history: Vec<HistoryEntry>,
}

/// The result of `create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: MyKeyId,
    /// False when the person already had an active ID (it is returned, nothing is written).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("every certificate linked to this person is revoked or expired")]
    Lapsed,
    #[error("no free MyKey ID found after {} attempts", CLAIM_RETRIES + 1)]
    NoFreeId,
    /// The person was made by a certificate that may be a renewal not linked yet
    /// ([`person::link_pending_until`]): it waits until `until` (epoch seconds) or the linkage
    /// feed, whichever comes first (`checked_at`: the clock when this was decided).
    #[error("waiting for the renewal linkage of a recently issued certificate")]
    LinkPending { until: i64, checked_at: i64 },
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("every certificate linked to this person is revoked or expired")]
    Lapsed,
    #[error("this person has no active MyKey ID")]
    NoMyKeyId,
    #[error("the MyKey ID is taken")]
    Taken,
    #[error("the person's MyKey ID changed meanwhile")]
    Changed,
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("this person has no active MyKey ID")]
    NoMyKeyId,
    #[error("the person's MyKey ID kept changing meanwhile")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RequireError> for CreateError {
    fn from(e: RequireError) -> Self {
        match e {
            RequireError::Lapsed => CreateError::Lapsed,
            RequireError::Standing(s) => CreateError::Standing(s),
        }
    }
}

impl From<RequireError> for ChangeError {
    fn from(e: RequireError) -> Self {
        match e {
            RequireError::Lapsed => ChangeError::Lapsed,
            RequireError::Standing(s) => ChangeError::Standing(s),
        }
    }
}

fn item(key: Key, attrs: Vec<(&str, Value)>) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(key.pk));
    i.insert("sk".into(), Value::S(key.sk.unwrap_or_default()));
    for (k, v) in attrs {
        i.insert(k.into(), v);
    }
    i
}

fn person_target(pid: &PersonId) -> String {
    format!("person:{pid}")
}

/// The person's active ID, as their profile says. A missing profile is a fault: every signed-in
/// person has one.
async fn active_id(app: &impl Stores, pid: &PersonId) -> Result<Option<MyKeyId>, StoreError> {
    let profile = person::profile(app, pid)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the signed-in person has no profile".into()))?;
    profile.mykey_id.as_deref().map(MyKeyId::parse).transpose().map_err(StoreError::Corrupt)
}

/// Whether anyone holds or ever held `id` (one read).
pub async fn is_claimed(app: &impl Stores, id: &MyKeyId) -> Result<bool, StoreError> {
    Ok(app.store().get(&PEOPLE, &claim_key(id)).await?.is_some())
}

/// The new claim and the person's new history item.
fn claim_ops(pid: &PersonId, id: &MyKeyId, at: &str) -> [TxOp; 2] {
    [
        TxOp::Put {
            table: &PEOPLE,
            item: item(
                claim_key(id),
                vec![
                    ("person_id", pid.as_str().into()),
                    ("claimed_at", at.into()),
                    ("state", IdState::Active.as_str().into()),
                ],
            ),
            cond: Some(Cond::not_exists("pk")),
        },
        TxOp::Put {
            table: &PEOPLE,
            item: item(
                history_key(pid, id),
                vec![
                    ("mykey_id", id.as_str().into()),
                    ("state", IdState::Active.as_str().into()),
                    ("created_at", at.into()),
                ],
            ),
            cond: None,
        },
    ]
}

/// Retiring `id` of `pid`: the claim (which must be this person's active one) and the history item.
fn retire_ops(pid: &PersonId, id: &MyKeyId, reason: RetiredReason, at: &str) -> [TxOp; 2] {
    [
        TxOp::Update {
            table: &PEOPLE,
            key: claim_key(id),
            update: Update::new().set("state", IdState::Retired.as_str()).set("retired_at", at),
            cond: Some(Cond::eq("person_id", pid.as_str()).and(Cond::eq("state", IdState::Active.as_str()))),
        },
        TxOp::Update {
            table: &PEOPLE,
            key: history_key(pid, id),
            update: Update::new()
                .set_if_absent("mykey_id", id.as_str())
                .set_if_absent("created_at", at)
                .set("state", IdState::Retired.as_str())
                .set("retired_at", at)
                .set("retired_reason", reason.as_str()),
            cond: None,
        },
    ]
}

/// Creates the person's MyKey ID with random IDs from the CSPRNG; see [`create_with`].
pub async fn create(
    app: &(impl Audits + Configured + Revocations),
    ctx: &Context,
    pid: &PersonId,
) -> Result<Created, CreateError> {
    create_with(app, ctx, pid, &mut MyKeyId::generate).await
}

/// Creates the person's MyKey ID, drawing candidates from `next_id`.
///
/// A lapsed person is refused. A person who already has an active ID gets it back
/// (`created: false`, nothing written). Otherwise one audited transaction puts the claim
/// (condition: nobody ever claimed the ID), sets the profile's `mykey_id` (condition: not set) and
/// puts the history item. A claim collision is retried with the next candidate, up to
/// [`CLAIM_RETRIES`] times; when the profile condition fails, a concurrent create of the same
/// person won, and its ID is returned (`created: false`).
pub async fn create_with(
    app: &(impl Audits + Configured + Revocations),
    ctx: &Context,
    pid: &PersonId,
    next_id: &mut (impl FnMut() -> MyKeyId + Send),
) -> Result<Created, CreateError> {
    let standing = person::standing(app, pid).await?;
    if standing.lapsed() {
        return Err(CreateError::Lapsed);
    }
    if let Some(id) = active_id(app, pid).await? {
        return Ok(Created { id, created: false });
    }
    // A MyKey ID is what everything downstream hangs off, and a person holding one can no longer
    // be folded into its predecessor by the linkage feed: a possible renewal waits for it.
    let now = app.clock().epoch_secs();
    if let Some(until) = standing.link_pending_until(app.config().relink_hold_secs, now) {
        return Err(CreateError::LinkPending { until, checked_at: now });
    }
    let mut attempts = 0;
    while attempts <= CLAIM_RETRIES {
        attempts += 1;
        let id = next_id();
        let at = to_store(app.clock().now());
        let [claim, history] = claim_ops(pid, &id, &at);
        let ops = vec![
            claim,
            TxOp::Update {
                table: &PEOPLE,
                key: person::profile_key(pid),
                update: Update::new().set("mykey_id", id.as_str()),
                cond: Some(Cond::exists("pk").and(Cond::not_exists("mykey_id"))),
            },
            history,
        ];
        let ev = Event::success("mykey.create", vec![person_target(pid), id.target()])
            .with_detail(json!({ "attempts": attempts }));
        match audit::commit(app, ctx, ev, ops).await {
            Ok(()) => {
                app.metrics().count("mykey_ids", &[("event", "created")], 1);
                return Ok(Created { id, created: true });
            }
            Err(e) => match e.failed_condition_index() {
                // Someone holds or held this ID: try another.
                Some(0) => app.metrics().count("mykey_claim_collisions", &[], 1),
                // The profile already has an ID (a concurrent create won) or vanished.
                // (If it was created and revoked again in between, start over.)
                Some(1) => {
                    if let Some(id) = active_id(app, pid).await? {
                        return Ok(Created { id, created: false });
                    }
                }
                _ => return Err(e.into()),
            },
        }
    }
    Err(CreateError::NoFreeId)
}

/// The person's own MyKey data: the active ID, linked certificates with their states (and so
/// whether the person has lapsed), and the history of IDs. Audited as `mykey.read` (the
/// certificates are personal data). Works for a lapsed person.
pub async fn get(app: &(impl Audits + Revocations), ctx: &Context, pid: &PersonId) -> Result<MyKeyState, ReadError> {
    let active = active_id(app, pid).await?;
    let standing = person::standing(app, pid).await?;
    let history = history(app, pid).await?;
    let mut targets = vec![person_target(pid)];
    targets.extend(active.as_ref().map(MyKeyId::target));
    let ev = Event::success("mykey.read", targets).with_detail(json!({
        "certificates": standing.certificates.len(),
        "history": history.len(),
    }));
    audit::commit_event(app, ctx, ev).await?;
    Ok(MyKeyState { active, standing, history })
}

/// Every ID the person has held: the active one first, then the retired ones, most recently
/// retired first (one query per 100).
pub async fn history(app: &impl Stores, pid: &PersonId) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(
                Query::new(&PEOPLE, person::pk(pid))
                    .sk(SkCond::BeginsWith(HISTORY_PREFIX.into()))
                    .limit(100)
                    .start(cursor),
            )
            .await?;
        for i in &page.items {
            out.push(HistoryEntry::from_item(i)?);
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // The active ID first, then the retired ones, most recently retired first.
    out.sort_by(|a, b| {
        (a.state != IdState::Active)
            .cmp(&(b.state != IdState::Active))
            .then_with(|| b.retired_at.cmp(&a.retired_at))
            .then_with(|| b.created_at.cmp(&a.created_at))
    });
    Ok(out)
}

/// Up to [`SUGGESTIONS`] random IDs that nobody holds or held when checked (one read each). They are
/// not reserved: someone else may claim one before the caller does, and the change then fails as
/// taken. Reads no personal data, so it is not audited.
pub async fn suggestions(app: &impl Stores) -> Result<Vec<MyKeyId>, StoreError> {
    let mut out: Vec<MyKeyId> = Vec::with_capacity(SUGGESTIONS);
    for _ in 0..SUGGESTION_CANDIDATES {
        if out.len() == SUGGESTIONS {
            break;
        }
        let id = MyKeyId::generate();
        if !out.contains(&id) && !is_claimed(app, &id).await? {
            out.push(id);
        }
    }
    Ok(out)
}

/// Changes the person's active ID to `new` and returns the active ID afterwards.
///
/// A lapsed person is refused; so is a person without an active ID (create one first). Changing
/// to the current ID changes nothing. An ID anybody holds or ever held — the person's own retired
/// IDs included — is taken. One audited transaction: the new claim (condition: never claimed), the
/// old claim retired (condition: this person's and active), the profile moved to the new ID
/// (condition: still the old one), the old history item retired (`changed`), the new one put.
pub async fn change(
    app: &(impl Audits + Revocations),
    ctx: &Context,
    pid: &PersonId,
    new: MyKeyId,
) -> Result<MyKeyId, ChangeError> {
    person::require_not_lapsed(app, pid).await?;
    let old = active_id(app, pid).await?.ok_or(ChangeError::NoMyKeyId)?;
    if old == new {
        return Ok(old);
    }
    if is_claimed(app, &new).await? {
        return Err(ChangeError::Taken);
    }
    let at = to_store(app.clock().now());
    let [claim, new_history] = claim_ops(pid, &new, &at);
    let [old_claim, old_history] = retire_ops(pid, &old, RetiredReason::Changed, &at);
    let ops = vec![
        claim,
        old_claim,
        TxOp::Update {
            table: &PEOPLE,
            key: person::profile_key(pid),
            update: Update::new().set("mykey_id", new.as_str()),
            cond: Some(Cond::eq("mykey_id", old.as_str())),
        },
        old_history,
        new_history,
    ];
    let ev = Event::success("mykey.change", vec![person_target(pid), old.target(), new.target()])
        .with_detail(json!({ "from": old.as_str(), "to": new.as_str() }));
    match audit::commit(app, ctx, ev, ops).await {
        Ok(()) => {
            app.metrics().count("mykey_ids", &[("event", "changed")], 1);
            Ok(new)
        }
        Err(e) => match e.failed_condition_index() {
            Some(0) => Err(ChangeError::Taken),
            Some(1 | 2) => Err(ChangeError::Changed),
            _ => Err(e.into()),
        },
    }
}

/// Revokes the person's active ID and returns it. Allowed for a lapsed person. The ID stays
/// claimed (retired) forever; a later `create` gives a new one. One audited transaction: the
/// claim retired, the history item retired (`revoked`), the profile's `mykey_id` removed
/// (condition: still this ID). Losing a race with a concurrent change re-reads and revokes the
/// new ID; losing one with a concurrent revoke ends in `NoMyKeyId`.
pub async fn revoke(app: &impl Audits, ctx: &Context, pid: &PersonId) -> Result<MyKeyId, RevokeError> {
    for _ in 0..REVOKE_ATTEMPTS {
        let id = active_id(app, pid).await?.ok_or(RevokeError::NoMyKeyId)?;
        let at = to_store(app.clock().now());
        let [claim, history] = retire_ops(pid, &id, RetiredReason::Revoked, &at);
        let ops = vec![
            claim,
            history,
            TxOp::Update {
                table: &PEOPLE,
                key: person::profile_key(pid),
                update: Update::new().remove("mykey_id"),
                cond: Some(Cond::eq("mykey_id", id.as_str())),
            },
        ];
        let ev = Event::success("mykey.revoke", vec![person_target(pid), id.target()]);
        match audit::commit(app, ctx, ev, ops).await {
            Ok(()) => {
                app.metrics().count("mykey_ids", &[("event", "revoked")], 1);
                return Ok(id);
            }
            Err(e) if e.failed_condition_index().is_some() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RevokeError::Changed)
}
