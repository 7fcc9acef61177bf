//! `mkpf-card` (STUB: being written).
fn main() {}
