//! The records nudge keeps: learners and their progress, deliveries (the outbox), answers, and
//! the team loop's leads, notes and cohort state, and each pack's fitted FSRS weights.
//!
//! Plain serde data shared by the engine (which decides), the store (which persists) and the
//! reports (which count). Nothing here does I/O.

mod answer;
mod delivery;
mod ids;
mod learner;
mod team;
mod tuning;

pub use answer::{Answer, AnswerKind, Confidence, PracticeOutcome};
pub use delivery::{Button, Delivery, DeliveryState, OutMessage, Outgoing, Purpose};
pub use ids::{DeliverySeq, ItemId, LearnerId, UpdateId};
pub use learner::{
    CardState, DayCount, FollowUp, Learner, LearnerTeam, Memory, NextNudge, OpenKind, OpenQuestion, PRIVACY_NOTICE,
    PendingConfidence, PendingMove, Prefs, Progress, Status, Step, TeamAsked, TeamSlot, TrackClock, WaitKind, Waiting,
};
pub use team::{CohortState, ColleaguesEdition, Lead, Note, NoteKind};
pub use tuning::PackTuning;
