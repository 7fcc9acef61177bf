//! The embedded engine: one redb file, one writer thread doing group commit, concurrent readers.
//!
//! Every write (store operation, queue operation) is a job: a closure run inside the current
//! write transaction. The writer takes every job that is waiting, runs them one after another in
//! a single redb transaction and commits once (one fsync), then answers each job. A job checks
//! everything before it writes anything, so a job that fails leaves no trace even though it
//! shares the transaction with others. Reads use redb's MVCC read transactions and never wait
//! for the writer.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};
use tokio::sync::oneshot;

/// How many jobs one commit takes at most.
const MAX_GROUP: usize = 512;

/// A storage-level failure (disk, corruption): the whole group's transaction is abandoned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("embedded storage failure: {0}")]
pub struct Fatal(pub String);

impl Fatal {
    pub fn from<E: std::fmt::Display>(e: E) -> Self {
        Fatal(e.to_string())
    }
}

type Reply = Box<dyn FnOnce(Result<(), Fatal>) + Send>;
type Job = Box<dyn FnOnce(&WriteTransaction) -> Result<Reply, Fatal> + Send>;

/// The shared engine: the database and the channel to its writer thread.
pub struct Engine {
    db: Arc<Database>,
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

impl Engine {
    /// Opens (or creates) `<dir>/mkpf.redb` and starts the writer thread.
    pub fn open(dir: &Path) -> Result<Arc<Engine>, Fatal> {
        crate::private_fs::create_private_dir(dir)
            .map_err(|e| Fatal(format!("cannot create data dir {}: {e}", dir.display())))?;
        let path = dir.join("mkpf.redb");
        crate::private_fs::ensure_private_file(&path)
            .map_err(|e| Fatal(format!("cannot create {}: {e}", path.display())))?;
        let db = Database::create(&path).map_err(|e| Fatal(format!("cannot open {}: {e}", path.display())))?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel::<Job>();
        // The writer holds the database weakly: dropping the engine closes the file at once
        // (so it can be reopened), and the writer ends when its channel closes.
        let writer_db = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("mkpf-embedded-writer".into())
            .spawn(move || writer_loop(&writer_db, &rx))
            .map_err(Fatal::from)?;
        Ok(Arc::new(Engine { db, jobs: tx, path }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside a group-committed write transaction; resolves after the commit is durable.
    /// `f` must not write anything when it returns a logical failure inside `R`.
    pub async fn write<R, F>(&self, f: F) -> Result<R, Fatal>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, Fatal> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, Fatal>>();
        let job: Job = Box::new(move |txn: &WriteTransaction| {
            let r = f(txn)?;
            Ok(Box::new(move |committed: Result<(), Fatal>| {
                let _ = tx.send(committed.map(|()| r));
            }) as Reply)
        });
        self.jobs.send(job).map_err(|_| Fatal("writer thread stopped".into()))?;
        rx.await.map_err(|_| Fatal("write abandoned".into()))?
    }

    /// Runs `f` on a fresh read transaction, off the async runtime's threads.
    pub async fn read<R, F>(&self, f: F) -> Result<R, Fatal>
    where
        R: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<R, Fatal> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(Fatal::from)?;
            f(&txn)
        })
        .await
        .map_err(|_| Fatal("read task failed".into()))?
    }
}

fn writer_loop(db: &Weak<Database>, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut group = Vec::with_capacity(16);
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let Some(strong) = db.upgrade() else { return };
        let (replies, result) = run_group(&strong, group);
        // Let go of the database before answering: a caller that drops the engine right after
        // its answer must find the file closed.
        drop(strong);
        for r in replies {
            r(result.clone());
        }
    }
}

/// Runs a group in one transaction. Returns the answers to give once the outcome is known.
fn run_group(db: &Database, group: Vec<Job>) -> (Vec<Reply>, Result<(), Fatal>) {
    let txn = match db.begin_write() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "embedded store: cannot begin write");
            // Dropping the jobs drops their senders: callers see "write abandoned".
            return (Vec::new(), Err(Fatal::from(e)));
        }
    };
    let mut replies = Vec::with_capacity(group.len());
    for job in group {
        match job(&txn) {
            Ok(reply) => replies.push(reply),
            Err(fatal) => {
                tracing::error!(error = %fatal, "embedded store: write failed, group abandoned");
                let _ = txn.abort();
                return (replies, Err(fatal));
            }
        }
    }
    let result = txn.commit().map_err(Fatal::from);
    if let Err(e) = &result {
        tracing::error!(error = %e, "embedded store: commit failed");
    }
    (replies, result)
}
