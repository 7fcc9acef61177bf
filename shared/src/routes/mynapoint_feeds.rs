//! Route-table entries of the area: National Mynapoint data in and out: eligibility feeds, reconciliation reports, operator inquiry.

#[allow(unused_imports)]
use super::*;

pub static ROUTES: &[RouteSpec] = &[];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
