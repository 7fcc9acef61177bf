//! The point ledger: double-entry accounts and transfers in the TigerBeetle style, for the
//! programmes that move points (Municipal Mynapoint first: a municipality's budget per measure,
//! a citizen per measure, a provider's settlement).
//!
//! - An **account** keeps four sums, `debits_pending`, `debits_posted`, `credits_pending` and
//!   `credits_posted`, and one limit:
//!   - `DebitsWithinCredits`: debits (pending and posted) never exceed posted credits. This is a
//!     budget, which is never over-committed.
//!   - `CreditsWithinDebits`: the mirror.
//!   - `None`.
//! - A **transfer** moves `amount` from a debit account to a credit account, under an id chosen
//!   by the caller. The same id with the same transfer is the same transfer, so a retry changes
//!   nothing; the same id with another transfer is refused. A transfer is either posted at once,
//!   or **pending**: it reserves the amount. A pending transfer is later **posted** (all of it or
//!   less; the rest is released) or **voided** (all released).
//!
//! The invariants are held by the store, never by read-then-write. Each account item also keeps
//! what its limit leaves available:
//! - `dr_avail` = credits_posted − debits_pending − debits_posted
//! - `cr_avail` = debits_posted − credits_pending − credits_posted
//!
//! Every change moves these by the same amounts as the sums, in one transaction, conditioned on
//! `dr_avail ≥ amount` (or `cr_avail`) for a limited account and on the transfer's state. So two
//! racing reservations cannot both take the last points, on DynamoDB or on the embedded store.
//! Each transfer also writes an entry under both of its accounts. [`verify`] recomputes every
//! account from its entries and checks that debits equal credits.
//!
//! Items (table `ledger`):
//! - `ACCOUNT#<id>` / `ACCOUNT`: the sums, `dr_avail`, `cr_avail`, `limit_dr`, `limit_cr`
//! - `ACCOUNT#<id>` / `ENTRY#<transfer>`: `side` (`dr` | `cr`), `amount`, `state`, `posted`
//! - `TRANSFER#<id>` / `TRANSFER`: `debit`, `credit`, `amount`, `state`, `posted`
//! - `ACCOUNTS` / `<id>`: the list of accounts, which `verify` walks

use crate::caps::Stores;
use crate::ports::store::*;
use crate::tables::LEDGER;

/// An account id: 1–120 characters of `[A-Za-z0-9:_.-]`, e.g. `budget:131016:m1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountId(String);

/// A transfer id: 1–160 characters of `[A-Za-z0-9:_.-]`, chosen by the caller so that a retry
/// names the same transfer (e.g. `approve:<application id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferId(String);

fn id_chars(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b))
}

impl AccountId {
    pub fn parse(s: &str) -> Option<AccountId> {
        id_chars(s, 120).then(|| AccountId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TransferId {
    pub fn parse(s: &str) -> Option<TransferId> {
        id_chars(s, 160).then(|| TransferId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an account's balance may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    None,
    /// Debits (pending + posted) ≤ posted credits: a budget.
    DebitsWithinCredits,
    /// Credits (pending + posted) ≤ posted debits.
    CreditsWithinDebits,
}

/// An account's sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub limit: Limit,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Account {
    /// What the account's limit leaves for new debits (a budget's unreserved points).
    pub fn debits_available(&self) -> i64 {
        self.credits_posted - self.debits_pending - self.debits_posted
    }
}

/// A transfer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Posted,
    Voided,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Posted => "posted",
            State::Voided => "voided",
        }
    }
    fn parse(s: &str) -> Result<State, StoreError> {
        match s {
            "pending" => Ok(State::Pending),
            "posted" => Ok(State::Posted),
            "voided" => Ok(State::Voided),
            other => Err(StoreError::Corrupt(format!("transfer state {other:?}"))),
        }
    }
}

/// A transfer to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: i64,
    /// Reserve only (post or void later), or post at once.
    pub pending: bool,
}

/// A stored transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: i64,
    pub state: State,
    /// What was posted (≤ amount); 0 while pending or once voided.
    pub posted: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the amount must be a positive whole number of points")]
    InvalidAmount,
    #[error("a transfer moves points between two different accounts")]
    SameAccount,
    #[error("no account {0}")]
    AccountMissing(String),
    #[error("account {0} has an account already, with another limit")]
    AccountLimitDiffers(String),
    #[error("the transfer would take account {0} past its limit")]
    ExceedsLimit(String),
    #[error("transfer {0} exists with other accounts or amount")]
    TransferDiffers(String),
    #[error("no transfer {0}")]
    TransferMissing(String),
    #[error("transfer {0} is no longer pending")]
    NotPending(String),
    #[error("the posted amount must be between 1 and the pending amount")]
    InvalidPostAmount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn account_key(id: &AccountId) -> Key {
    Key::new(format!("ACCOUNT#{}", id.0), "ACCOUNT")
}

fn entry_key(account: &AccountId, t: &TransferId) -> Key {
    Key::new(format!("ACCOUNT#{}", account.0), format!("ENTRY#{}", t.0))
}

fn transfer_key(id: &TransferId) -> Key {
    Key::new(format!("TRANSFER#{}", id.0), "TRANSFER")
}

fn item(key: Key, attrs: Vec<(&str, Value)>) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(key.pk));
    if let Some(sk) = key.sk {
        i.insert("sk".into(), Value::S(sk));
    }
    for (k, v) in attrs {
        i.insert(k.to_owned(), v);
    }
    i
}

/// Opens an account (idempotent: an account that exists with the same limit is left as it is).
pub async fn open_account(app: &impl Stores, id: &AccountId, limit: Limit) -> Result<(), LedgerError> {
    let (dr, cr) = (limit == Limit::DebitsWithinCredits, limit == Limit::CreditsWithinDebits);
    let fresh = item(
        account_key(id),
        vec![
            ("limit_dr", Value::Bool(dr)),
            ("limit_cr", Value::Bool(cr)),
            ("debits_pending", Value::N(0)),
            ("debits_posted", Value::N(0)),
            ("credits_pending", Value::N(0)),
            ("credits_posted", Value::N(0)),
            ("dr_avail", Value::N(0)),
            ("cr_avail", Value::N(0)),
        ],
    );
    let listed = item(Key::new("ACCOUNTS", id.0.clone()), vec![]);
    let ops = vec![
        TxOp::Put { table: &LEDGER, item: fresh, cond: Some(Cond::not_exists("pk")) },
        TxOp::Put { table: &LEDGER, item: listed, cond: None },
    ];
    match app.store().transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_condition_index() == Some(0) => match account(app, id).await? {
            Some(a) if a.limit == limit => Ok(()),
            _ => Err(LedgerError::AccountLimitDiffers(id.0.clone())),
        },
        Err(e) => Err(e.into()),
    }
}

fn parse_account(id: &AccountId, i: &Item) -> Result<Account, StoreError> {
    let flag = |k: &str| i.get(k).and_then(Value::as_bool).unwrap_or(false);
    Ok(Account {
        id: id.clone(),
        limit: match (flag("limit_dr"), flag("limit_cr")) {
            (true, _) => Limit::DebitsWithinCredits,
            (_, true) => Limit::CreditsWithinDebits,
            _ => Limit::None,
        },
        debits_pending: i.n("debits_pending")?,
        debits_posted: i.n("debits_posted")?,
        credits_pending: i.n("credits_pending")?,
        credits_posted: i.n("credits_posted")?,
    })
}

/// An account's sums (one read).
pub async fn account(app: &impl Stores, id: &AccountId) -> Result<Option<Account>, StoreError> {
    match app.store().get(&LEDGER, &account_key(id)).await? {
        None => Ok(None),
        Some(i) => Ok(Some(parse_account(id, &i)?)),
    }
}

fn parse_transfer(id: &TransferId, i: &Item) -> Result<Transfer, StoreError> {
    let acc = |k: &str| {
        i.s(k).and_then(|s| AccountId::parse(s).ok_or_else(|| StoreError::Corrupt(format!("transfer {k} {s:?}"))))
    };
    Ok(Transfer {
        id: id.clone(),
        debit: acc("debit")?,
        credit: acc("credit")?,
        amount: i.n("amount")?,
        state: State::parse(i.s("state")?)?,
        posted: i.n("posted")?,
    })
}

/// A transfer (one read).
pub async fn transfer(app: &impl Stores, id: &TransferId) -> Result<Option<Transfer>, StoreError> {
    match app.store().get(&LEDGER, &transfer_key(id)).await? {
        None => Ok(None),
        Some(i) => Ok(Some(parse_transfer(id, &i)?)),
    }
}

/// The condition a limited side puts on an account: it exists, and if its limit applies to this
/// side, the change leaves it within.
fn within(avail: &str, flag: &str, amount: i64) -> Cond {
    Cond::exists("pk").and(Cond::eq(flag, false).or(Cond::ge(avail, amount)))
}

/// The writes of a new transfer, for a caller to commit with its own (e.g. an audited approval).
/// The first op is the transfer's put, then the debit and the credit account's updates: a
/// refusal at index 0 means the id exists, at 1 or 2 that account is missing or at its limit.
pub fn transfer_ops(t: &NewTransfer) -> Result<Vec<TxOp>, LedgerError> {
    if t.amount <= 0 {
        return Err(LedgerError::InvalidAmount);
    }
    if t.debit == t.credit {
        return Err(LedgerError::SameAccount);
    }
    let state = if t.pending { State::Pending } else { State::Posted };
    let posted = if t.pending { 0 } else { t.amount };
    let a = t.amount;
    let (debit, credit) = if t.pending {
        (
            Update::new().add("debits_pending", a).add("dr_avail", -a),
            Update::new().add("credits_pending", a).add("cr_avail", -a),
        )
    } else {
        (
            Update::new().add("debits_posted", a).add("dr_avail", -a).add("cr_avail", a),
            Update::new().add("credits_posted", a).add("cr_avail", -a).add("dr_avail", a),
        )
    };
    let entry = |account: &AccountId, side: &str| {
        item(
            entry_key(account, &t.id),
            vec![
                ("side", Value::S(side.into())),
                ("amount", Value::N(a)),
                ("state", Value::S(state.as_str().into())),
                ("posted", Value::N(posted)),
            ],
        )
    };
    Ok(vec![
        TxOp::Put {
            table: &LEDGER,
            item: item(
                transfer_key(&t.id),
                vec![
                    ("debit", Value::S(t.debit.0.clone())),
                    ("credit", Value::S(t.credit.0.clone())),
                    ("amount", Value::N(a)),
                    ("state", Value::S(state.as_str().into())),
                    ("posted", Value::N(posted)),
                ],
            ),
            cond: Some(Cond::not_exists("pk")),
        },
        TxOp::Update {
            table: &LEDGER,
            key: account_key(&t.debit),
            update: debit,
            cond: Some(within("dr_avail", "limit_dr", a)),
        },
        TxOp::Update {
            table: &LEDGER,
            key: account_key(&t.credit),
            update: credit,
            cond: Some(within("cr_avail", "limit_cr", a)),
        },
        TxOp::Put { table: &LEDGER, item: entry(&t.debit, "dr"), cond: None },
        TxOp::Put { table: &LEDGER, item: entry(&t.credit, "cr"), cond: None },
    ])
}

/// Why the ops of [`transfer_ops`] were refused at `index` (reads on the failure path only).
pub async fn transfer_refusal(app: &impl Stores, t: &NewTransfer, index: usize) -> Result<LedgerError, StoreError> {
    Ok(match index {
        0 => LedgerError::TransferDiffers(t.id.0.clone()),
        _ => {
            let id = if index == 1 { &t.debit } else { &t.credit };
            if account(app, id).await?.is_some() {
                LedgerError::ExceedsLimit(id.0.clone())
            } else {
                LedgerError::AccountMissing(id.0.clone())
            }
        }
    })
}

/// Whether a stored transfer is the one `t` describes (a retry).
fn same(stored: &Transfer, t: &NewTransfer) -> bool {
    stored.debit == t.debit && stored.credit == t.credit && stored.amount == t.amount
}

/// Makes a transfer on its own (one transaction). A retry of the same transfer answers what is
/// stored and changes nothing.
pub async fn make_transfer(app: &impl Stores, t: &NewTransfer) -> Result<Transfer, LedgerError> {
    let ops = transfer_ops(t)?;
    match app.store().transact(ops).await {
        Ok(()) => Ok(Transfer {
            id: t.id.clone(),
            debit: t.debit.clone(),
            credit: t.credit.clone(),
            amount: t.amount,
            state: if t.pending { State::Pending } else { State::Posted },
            posted: if t.pending { 0 } else { t.amount },
        }),
        Err(e) => match e.failed_condition_index() {
            Some(0) => match transfer(app, &t.id).await? {
                Some(stored) if same(&stored, t) => Ok(stored),
                _ => Err(LedgerError::TransferDiffers(t.id.0.clone())),
            },
            Some(i) => Err(transfer_refusal(app, t, i).await?),
            None => Err(e.into()),
        },
    }
}

/// The writes that settle pending transfer `t`: post `amount` (≤ its amount; the rest is
/// released) or void it (`None`). Conditioned on it still being pending (the transfer at index 0
/// and its two entries at 3 and 4), so of two racing settlements one wins and the other is
/// refused there.
pub fn settle_ops(t: &Transfer, post: Option<i64>) -> Result<Vec<TxOp>, LedgerError> {
    if let Some(p) = post
        && (p <= 0 || p > t.amount)
    {
        return Err(LedgerError::InvalidPostAmount);
    }
    let a = t.amount;
    let p = post.unwrap_or(0);
    let state = if post.is_some() { State::Posted } else { State::Voided };
    // Pending a leaves; p of it is posted; a - p goes back to what the limits leave.
    let debit =
        Update::new().add("debits_pending", -a).add("debits_posted", p).add("dr_avail", a - p).add("cr_avail", p);
    let credit =
        Update::new().add("credits_pending", -a).add("credits_posted", p).add("cr_avail", a - p).add("dr_avail", p);
    let settled = |key: Key| TxOp::Update {
        table: &LEDGER,
        key,
        update: Update::new().set("state", state.as_str()).set("posted", p),
        cond: Some(Cond::eq("state", "pending")),
    };
    Ok(vec![
        settled(transfer_key(&t.id)),
        TxOp::Update { table: &LEDGER, key: account_key(&t.debit), update: debit, cond: Some(Cond::exists("pk")) },
        TxOp::Update { table: &LEDGER, key: account_key(&t.credit), update: credit, cond: Some(Cond::exists("pk")) },
        settled(entry_key(&t.debit, &t.id)),
        settled(entry_key(&t.credit, &t.id)),
    ])
}

/// Posts (`Some(amount)`) or voids (`None`) a pending transfer on its own (a read, then one
/// conditional transaction). Settling again the same way answers what is stored.
pub async fn settle(app: &impl Stores, id: &TransferId, post: Option<i64>) -> Result<Transfer, LedgerError> {
    let t = transfer(app, id).await?.ok_or_else(|| LedgerError::TransferMissing(id.0.clone()))?;
    let wanted = if post.is_some() { State::Posted } else { State::Voided };
    // A transfer already settled this very way: the answer to a retry, not a refusal.
    let as_wanted = |s: Transfer| {
        if s.state == wanted && (post.is_none() || Some(s.posted) == post) {
            Ok(s)
        } else {
            Err(LedgerError::NotPending(id.0.clone()))
        }
    };
    if t.state != State::Pending {
        return as_wanted(t);
    }
    let ops = settle_ops(&t, post)?;
    match app.store().transact(ops).await {
        Ok(()) => Ok(Transfer { state: wanted, posted: post.unwrap_or(0), ..t }),
        // The transfer's or an entry's state check (all three say "still pending"): settled
        // meanwhile. The same settlement is a retry, another one is refused.
        Err(e) if matches!(e.failed_condition_index(), Some(0 | 3 | 4)) => {
            as_wanted(transfer(app, id).await?.ok_or_else(|| LedgerError::TransferMissing(id.0.clone()))?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What [`verify`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verification {
    pub accounts: usize,
    pub entries: usize,
    /// One line per difference: an account whose sums are not its entries', a limit broken, or
    /// the whole ledger's debits not equal to its credits.
    pub differences: Vec<String>,
}

/// Recomputes every account from its entries, checks each limit and `dr_avail`/`cr_avail`, and
/// checks that all debits equal all credits (pending and posted).
pub async fn verify(app: &impl Stores) -> Result<Verification, StoreError> {
    let mut v = Verification::default();
    let (mut all_dr, mut all_cr) = ((0i64, 0i64), (0i64, 0i64));
    let mut cursor = None;
    loop {
        let page = app.store().query(Query::new(&LEDGER, "ACCOUNTS").limit(100).start(cursor)).await?;
        for listed in &page.items {
            let id = AccountId::parse(listed.s("sk")?)
                .ok_or_else(|| StoreError::Corrupt("account list entry with a bad id".into()))?;
            v.accounts += 1;
            let Some(stored) = app.store().get(&LEDGER, &account_key(&id)).await? else {
                v.differences.push(format!("{}: listed but missing", id.0));
                continue;
            };
            let a = parse_account(&id, &stored)?;
            let mut sums = (0i64, 0i64, 0i64, 0i64);
            let mut c = None;
            loop {
                let entries = app
                    .store()
                    .query(
                        Query::new(&LEDGER, format!("ACCOUNT#{}", id.0))
                            .sk(SkCond::BeginsWith("ENTRY#".into()))
                            .limit(100)
                            .start(c),
                    )
                    .await?;
                for e in &entries.items {
                    v.entries += 1;
                    let (amount, posted) = (e.n("amount")?, e.n("posted")?);
                    let pending = State::parse(e.s("state")?)? == State::Pending;
                    let (p, q) = if pending { (amount, 0) } else { (0, posted) };
                    match e.s("side")? {
                        "dr" => {
                            sums.0 += p;
                            sums.1 += q;
                        }
                        "cr" => {
                            sums.2 += p;
                            sums.3 += q;
                        }
                        other => return Err(StoreError::Corrupt(format!("ledger entry side {other:?}"))),
                    }
                }
                c = entries.next;
                if c.is_none() {
                    break;
                }
            }
            if sums != (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted) {
                v.differences.push(format!(
                    "{}: stored (dp {}, dpo {}, cp {}, cpo {}) but entries give (dp {}, dpo {}, cp {}, cpo {})",
                    id.0,
                    a.debits_pending,
                    a.debits_posted,
                    a.credits_pending,
                    a.credits_posted,
                    sums.0,
                    sums.1,
                    sums.2,
                    sums.3
                ));
            }
            let dr_avail = a.credits_posted - a.debits_pending - a.debits_posted;
            let cr_avail = a.debits_posted - a.credits_pending - a.credits_posted;
            if (stored.n("dr_avail")?, stored.n("cr_avail")?) != (dr_avail, cr_avail) {
                v.differences.push(format!("{}: available amounts do not follow the sums", id.0));
            }
            match a.limit {
                Limit::DebitsWithinCredits if dr_avail < 0 => {
                    v.differences.push(format!("{}: debits exceed credits by {}", id.0, -dr_avail))
                }
                Limit::CreditsWithinDebits if cr_avail < 0 => {
                    v.differences.push(format!("{}: credits exceed debits by {}", id.0, -cr_avail))
                }
                _ => {}
            }
            all_dr = (all_dr.0 + a.debits_pending, all_dr.1 + a.debits_posted);
            all_cr = (all_cr.0 + a.credits_pending, all_cr.1 + a.credits_posted);
        }
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    if all_dr != all_cr {
        v.differences.push(format!(
            "the ledger does not balance: debits (pending {}, posted {}), credits (pending {}, posted {})",
            all_dr.0, all_dr.1, all_cr.0, all_cr.1
        ));
    }
    Ok(v)
}
