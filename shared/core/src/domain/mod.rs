//! Domain types and rules: pure, no I/O. Types have private fields and are built through
//! `parse`/`TryFrom`, so a value that exists is valid.

pub mod csv_rows;
pub mod mynapoint;
pub mod notice;
pub mod staff;
pub mod time_fmt;
