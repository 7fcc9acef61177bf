//! Route-table entries of the area: National Mynapoint: applications, provider dispatch and callbacks.

#[allow(unused_imports)]
use super::*;

pub static ROUTES: &[RouteSpec] = &[];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
