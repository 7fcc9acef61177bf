//! The person behind a card and their MyKey ID: people and certificate links (`person`), the
//! MyKey ID type (`id`) and its lifecycle (`lifecycle`), and the renewal re-link (`relink`).

pub mod id;
pub mod lifecycle;
pub mod person;
pub mod relink;
