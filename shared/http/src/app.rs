//! `App`: the state every route, consumer and job is handed — the core's `Deps` (ports and
//! per-process state) plus what only the HTTP layer keeps (rate limits on card-auth challenges,
//! the cached dependency check of `GET /healthz`). Built once per process by the composition root
//! (`mkpf-runtime`); cheap to clone.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mkpf_core::Deps;

use crate::handlers::platform::Checks;
use mkpf_core::rate_limit::SourceLimiter;

#[derive(Clone)]
pub struct App(Arc<State>);

pub struct State {
    pub deps: Deps,
    /// Per-source limit on card-auth challenges.
    pub challenge_limiter: SourceLimiter,
    /// The last dependency check of `GET /healthz` (a public route must not turn every call
    /// into store and queue round trips).
    pub health_cache: Mutex<Option<(Instant, Checks)>>,
}

impl App {
    pub fn new(deps: Deps) -> App {
        let challenge_limiter = SourceLimiter::new(deps.config.challenges_per_minute);
        App(Arc::new(State { deps, challenge_limiter, health_cache: Mutex::new(None) }))
    }
}

impl Deref for App {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl Deref for State {
    type Target = Deps;
    fn deref(&self) -> &Deps {
        &self.deps
    }
}
