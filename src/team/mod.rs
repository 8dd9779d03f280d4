//! The team loop (the "20" of 70-20-10), as pure decisions: which stand-up question a team is
//! ready for (`standup`), what the leads' weekly digest says (`digest`), and which shared
//! answers go to colleagues (`colleagues`). Every figure a lead sees covers at least
//! `min_group` learners; texts come without names. No I/O: the service loads the records and
//! sends what these return.

pub mod colleagues;
pub mod digest;
pub mod standup;
