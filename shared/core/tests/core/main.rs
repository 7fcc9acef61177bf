//! The core crate's own test suite (its use cases are tested through the API suite of
//! `mkpf-runtime`; the rules in unit tests next to them). Here: the dependency rule of the layers.

mod layers;
