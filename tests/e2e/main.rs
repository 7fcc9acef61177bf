//! End-to-end tests: the local platform and the operator CLI started as processes and driven
//! like clients (helpers in this crate's library, `mkpf_tests`).

mod card_auth_e2e;
mod card_cli;
mod local_platform;
mod mynapoint_dispatch_e2e;
mod staff_and_audit_cli;
