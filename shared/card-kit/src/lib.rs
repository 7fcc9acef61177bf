//! Software My Number Card (STUB: being written).
