//! Staff accounts: operators, municipality staff, auditors and patch approvers.
//!
//! - `account`: the stored account (TOTP seeds sealed) and its mapping to store items.
//! - `secrets`: password hashing (argon2id) and TOTP (RFC 6238) checks.
//! - `sessions`: access tokens, their session items (table `staff-sessions`), revocation.
//! - `login`: password + TOTP sign-in with lockout; self-service password change and TOTP
//!   enrolment.
//! - `admin`: creating accounts (and bootstrapping the first operator), listing, MFA and
//!   password resets, disabling.
//! - `demo`: the local-only demo seed (tokens for demo accounts), refused on AWS.
//!
//! Every change is written together with its audit record ([`crate::audit::commit`]).

pub mod account;
pub mod admin;
pub mod demo;
pub mod login;
pub mod secrets;
pub mod sessions;

pub use account::{AccountStatus, StaffAccount};

/// Consecutive failed sign-ins (password or TOTP) that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 15 * 60;
/// A password older than this must be changed at the next sign-in (the spec: every 3 months).
pub const PASSWORD_MAX_AGE_DAYS: i64 = 90;
/// Lifetime of a full staff access token.
pub const TOKEN_SECS: i64 = 15 * 60;
/// Lifetime of a restricted token (one that only admits password change and TOTP enrolment).
pub const RESTRICTED_TOKEN_SECS: i64 = 10 * 60;

/// Pending steps a token can carry.
pub const PENDING_PASSWORD_CHANGE: &str = "password_change";
pub const PENDING_TOTP_ENROLMENT: &str = "totp_enrolment";
