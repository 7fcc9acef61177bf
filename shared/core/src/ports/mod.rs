//! Ports: the interfaces use cases depend on. Adapters (embedded, DynamoDB, SQS, KMS, outbound HTTP) implement
//! them; nothing here knows about a concrete backend.

pub mod clock;
pub mod egress;
pub mod keys;
pub mod queue;
pub mod sealer;
pub mod store;

pub use clock::{Clock, JST, ManualClock, SystemClock};
pub use egress::{Egress, SendError, WebhookAnswer};
pub use keys::{KeyError, TokenKeys};
pub use queue::{OutMessage, Queue, QueueDef, QueueDepth, QueueError, Received};
pub use sealer::Sealer;
pub use store::{
    CancelReason, CmpOp, Cond, Cursor, IndexDef, Item, ItemExt, Key, Page, Query, SkCond, Store, StoreError, TableDef,
    TxOp, Update, UpdateAction, Value,
};
