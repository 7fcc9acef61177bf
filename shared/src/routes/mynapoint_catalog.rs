//! Route-table entries of the area: National Mynapoint catalogue: providers, payment services (secrets, intake) and measures.

#[allow(unused_imports)]
use super::*;

pub static ROUTES: &[RouteSpec] = &[];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
