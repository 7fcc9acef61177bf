//! A tiny feed for tests of the `feeds` pipeline: rows `name,count`, outcomes `counted` and
//! `odd` (odd counts are reported). Each test defines its own `FeedKind` on these (how it parses,
//! where it is stored, what applying a batch does).

use serde::{Deserialize, Serialize};

use crate::feeds::{Outcome, Row};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    pub line: u32,
    pub name: String,
    pub count: u32,
}

impl Row for TallyRow {
    fn line(&self) -> u32 {
        self.line
    }
    fn id_line(&self) -> String {
        format!("{},{}", self.name, self.count)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Counted,
    Odd,
}

impl Outcome for Seen {
    const ALL: &'static [Seen] = &[Seen::Counted, Seen::Odd];
    fn as_str(self) -> &'static str {
        match self {
            Seen::Counted => "counted",
            Seen::Odd => "odd",
        }
    }
    fn reported(self) -> bool {
        self == Seen::Odd
    }
}
