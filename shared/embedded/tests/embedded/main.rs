//! The embedded adapters' test suite: the store and queue conformance suites (the same ones
//! mkpf-aws runs against moto), durability across restarts, and the core's signing and sealing
//! on the local key files.

mod conformance;
mod durability;
mod request_digests;
mod tokens;
