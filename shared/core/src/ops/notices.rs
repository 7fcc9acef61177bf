//! Notice use cases: operators create, reschedule and withdraw notices; citizens read the ones
//! published now; a retention job and the `ops-tasks` consumer purge old ones.
//!
//! Storage (table `ops`): `pk = "NOTICE"`, `sk = <id>` (UUID v7, so the partition is in creation
//! order). A live (not withdrawn) notice is also in `gsi1` under `gsi1pk = "NOTICE#LIVE"`,
//! `gsi1sk = <publish_until or END_OF_TIME>#<id>`, which serves the public list: a range query
//! `gsi1sk > now` reads only notices that have not ended, so ended ones (kept for their
//! retention period) never cost the public route anything. Every write is conditional on
//! the version read, so concurrent edits never overwrite each other silently.

use time::OffsetDateTime;

use crate::audit::{self, Actor, Context, Event};
use crate::caps::{Audits, Clocks, Configured, Queues, Stores};
use crate::domain::notice::{Body, Notice, NoticeId, Severity, Title, Window};
use crate::domain::time_fmt::{from_store, to_store};
use crate::ports::store::*;
use crate::ports::{OutMessage, QueueError};
use crate::queues::OPS_TASKS;
use crate::tables::OPS;

const PK: &str = "NOTICE";
const LIVE: &str = "NOTICE#LIVE";
/// The index sort key of an open-ended notice: after every real instant.
const END_OF_TIME: &str = "9999-12-31T23:59:59Z";
/// The public list shows at most this many notices (newest first).
pub const PUBLIC_LIMIT: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("no such notice")]
    NotFound,
    #[error("the notice was withdrawn")]
    Withdrawn,
    #[error("the notice changed meanwhile (now version {current})")]
    VersionMismatch { current: i64 },
    #[error("{0}")]
    InvalidWindow(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What an operator supplies to create a notice.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub title: Title,
    pub body: Body,
    pub severity: Severity,
    pub window: Window,
}

/// A partial change; `until: Some(None)` removes the end of the window.
#[derive(Debug, Clone, Default)]
pub struct NoticeChange {
    pub title: Option<Title>,
    pub body: Option<Body>,
    pub severity: Option<Severity>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<Option<OffsetDateTime>>,
}

fn retention(app: &impl Configured) -> time::Duration {
    time::Duration::days(i64::from(app.config().notice_retention_days))
}

fn to_item(n: &Notice, actor: &str, retention: time::Duration) -> Item {
    let mut i = Item::new();
    let mut s = |k: &str, v: String| {
        i.insert(k.to_owned(), Value::S(v));
    };
    s("pk", PK.into());
    s("sk", n.id.as_str().into());
    s("title", n.title.as_str().into());
    s("body", n.body.as_str().into());
    s("severity", n.severity.as_str().into());
    s("from", to_store(n.window.from()));
    s("created_at", to_store(n.created_at));
    s("created_by", n.created_by.clone());
    s("updated_at", to_store(n.updated_at));
    s("updated_by", actor.into());
    if let Some(u) = n.window.until() {
        s("until", to_store(u));
    }
    match n.withdrawn_at {
        Some(w) => s("withdrawn_at", to_store(w)),
        None => {
            s("gsi1pk", LIVE.into());
            let until = n.window.until().map_or_else(|| END_OF_TIME.to_owned(), to_store);
            s("gsi1sk", format!("{until}#{}", n.id.as_str()));
        }
    }
    i.insert("version".into(), Value::N(n.version));
    if let Some(p) = n.purge_after(retention) {
        i.insert("purge_after".into(), Value::N(p.unix_timestamp()));
    }
    i
}

fn from_item(i: &Item) -> Result<Notice, StoreError> {
    let bad = |e: String| StoreError::Corrupt(e);
    let t = |k: &str| -> Result<OffsetDateTime, StoreError> { from_store(i.s(k)?).map_err(bad) };
    let until = match i.opt_s("until") {
        Some(u) => Some(from_store(u).map_err(bad)?),
        None => None,
    };
    let withdrawn_at = match i.opt_s("withdrawn_at") {
        Some(w) => Some(from_store(w).map_err(bad)?),
        None => None,
    };
    Ok(Notice {
        id: NoticeId::parse(i.s("sk")?).map_err(bad)?,
        title: Title::parse(i.s("title")?).map_err(bad)?,
        body: Body::parse(i.s("body")?).map_err(bad)?,
        severity: Severity::parse(i.s("severity")?).map_err(bad)?,
        window: Window::new(t("from")?, until).map_err(bad)?,
        withdrawn_at,
        created_at: t("created_at")?,
        created_by: i.s("created_by")?.to_owned(),
        updated_at: t("updated_at")?,
        version: i.n("version")?,
    })
}

fn key(id: &NoticeId) -> Key {
    Key::new(PK, id.as_str())
}

fn audited(action: &'static str, id: &NoticeId) -> Event {
    Event::success(action, vec![format!("notice:{}", id.as_str())])
}

pub async fn create(app: &(impl Audits + Configured), ctx: &Context, new: NewNotice) -> Result<Notice, NoticeError> {
    let actor = ctx.actor.id.as_deref().unwrap_or("-");
    let now = app.clock().now();
    let n = Notice {
        id: NoticeId::generate(),
        title: new.title,
        body: new.body,
        severity: new.severity,
        window: new.window,
        withdrawn_at: None,
        created_at: now,
        created_by: actor.to_owned(),
        updated_at: now,
        version: 1,
    };
    let put = TxOp::Put { table: &OPS, item: to_item(&n, actor, retention(app)), cond: Some(Cond::not_exists("pk")) };
    audit::commit(app, ctx, audited("notice.create", &n.id), vec![put]).await?;
    Ok(n)
}

pub async fn get(app: &impl Stores, id: &NoticeId) -> Result<Notice, NoticeError> {
    let item = app.store().get(&OPS, &key(id)).await?.ok_or(NoticeError::NotFound)?;
    Ok(from_item(&item)?)
}

/// All notices, newest first, a page at a time.
pub async fn list(
    app: &impl Stores,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<Notice>, Option<Cursor>), NoticeError> {
    if let Some(c) = &cursor
        && c.0.get("pk").and_then(Value::as_s) != Some(PK)
    {
        return Err(NoticeError::Store(StoreError::Validation("cursor of another list".into())));
    }
    let page = app.store().query(Query::new(&OPS, PK).reverse().limit(limit).start(cursor)).await?;
    let notices = page.items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
    Ok((notices, page.next))
}

/// The notices citizens see now, newest publication first (at most [`PUBLIC_LIMIT`]).
pub async fn list_published(app: &(impl Stores + Clocks)) -> Result<Vec<Notice>, NoticeError> {
    let now = app.clock().now();
    // gsi1sk = <until>#<id>: every notice that has not ended sorts above "<now>". Those are the
    // published ones plus the few scheduled for later, which are filtered out here.
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(Query::new(&OPS, LIVE).index("gsi1").sk(SkCond::Gt(to_store(now))).limit(100).start(cursor))
            .await?;
        for item in &page.items {
            let n = from_item(item)?;
            if n.window.contains(now) && n.withdrawn_at.is_none() {
                out.push(n);
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Newest publication first; ids (UUID v7) break ties by creation order.
    out.sort_by(|a, b| (b.window.from(), b.id.as_str()).cmp(&(a.window.from(), a.id.as_str())));
    out.truncate(PUBLIC_LIMIT);
    Ok(out)
}

/// Writes `next` over `current` only if nobody changed it since it was read.
async fn replace(
    app: &(impl Audits + Configured),
    ctx: &Context,
    action: &'static str,
    current: &Notice,
    next: &Notice,
) -> Result<(), NoticeError> {
    let actor = ctx.actor.id.as_deref().unwrap_or("-");
    let cond = Cond::eq("version", current.version).and(Cond::not_exists("withdrawn_at"));
    let put = TxOp::Put { table: &OPS, item: to_item(next, actor, retention(app)), cond: Some(cond) };
    match audit::commit(app, ctx, audited(action, &next.id), vec![put]).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => {
            let now = get(app, &current.id).await?;
            if now.withdrawn_at.is_some() {
                Err(NoticeError::Withdrawn)
            } else {
                Err(NoticeError::VersionMismatch { current: now.version })
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn check_version(n: &Notice, expected: Option<i64>) -> Result<(), NoticeError> {
    if n.withdrawn_at.is_some() {
        return Err(NoticeError::Withdrawn);
    }
    match expected {
        Some(v) if v != n.version => Err(NoticeError::VersionMismatch { current: n.version }),
        _ => Ok(()),
    }
}

pub async fn update(
    app: &(impl Audits + Configured),
    ctx: &Context,
    id: &NoticeId,
    change: NoticeChange,
    expected_version: Option<i64>,
) -> Result<Notice, NoticeError> {
    let current = get(app, id).await?;
    check_version(&current, expected_version)?;
    let from = change.from.unwrap_or(current.window.from());
    let until = change.until.unwrap_or(current.window.until());
    let mut next = current.clone();
    next.window = Window::new(from, until).map_err(NoticeError::InvalidWindow)?;
    if let Some(t) = change.title {
        next.title = t;
    }
    if let Some(b) = change.body {
        next.body = b;
    }
    if let Some(s) = change.severity {
        next.severity = s;
    }
    next.updated_at = app.clock().now();
    next.version += 1;
    replace(app, ctx, "notice.update", &current, &next).await?;
    Ok(next)
}

pub async fn withdraw(
    app: &(impl Audits + Configured),
    ctx: &Context,
    id: &NoticeId,
    expected_version: Option<i64>,
) -> Result<Notice, NoticeError> {
    let current = get(app, id).await?;
    check_version(&current, expected_version)?;
    let mut next = current.clone();
    let now = app.clock().now();
    next.withdrawn_at = Some(now);
    next.updated_at = now;
    next.version += 1;
    replace(app, ctx, "notice.withdraw", &current, &next).await?;
    Ok(next)
}

/// One background task on the `ops-tasks` queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PurgeNotice {
    pub id: String,
}

/// The retention job: finds notices past their retention and queues one purge task each.
/// Returns how many were queued.
pub async fn enqueue_purges(app: &(impl Stores + Clocks + Queues)) -> Result<usize, NoticeError> {
    let now = app.clock().epoch_secs();
    let mut due = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.store().query(Query::new(&OPS, PK).limit(200).start(cursor)).await?;
        for item in &page.items {
            if item.opt_n("purge_after").is_some_and(|p| p <= now) {
                let task = super::tasks::OpsTask::PurgeNotice(PurgeNotice { id: item.s("sk")?.to_owned() });
                due.push(OutMessage::new(task.to_json()));
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let n = due.len();
    if n > 0 {
        app.queue().send_batch(&OPS_TASKS, due).await?;
    }
    Ok(n)
}

/// Deletes a notice if it is still past its retention. Returns whether it was deleted;
/// repeating the task (duplicate delivery) changes nothing.
pub async fn purge(app: &impl Audits, task: &PurgeNotice) -> Result<bool, NoticeError> {
    let Ok(id) = NoticeId::parse(&task.id) else {
        return Ok(false);
    };
    let cond = Cond::le("purge_after", app.clock().epoch_secs());
    let del = TxOp::Delete { table: &OPS, key: key(&id), cond: Some(cond) };
    let ctx = Context::new(Actor::job("ops-tasks"));
    match audit::commit(app, &ctx, audited("notice.purge", &id), vec![del]).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
