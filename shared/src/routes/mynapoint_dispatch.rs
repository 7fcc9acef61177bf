//! Route-table entries of the area: National Mynapoint dispatch: delivering applications to providers (consumer, outbox sweep).

#[allow(unused_imports)]
use super::*;

pub static ROUTES: &[RouteSpec] = &[];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
