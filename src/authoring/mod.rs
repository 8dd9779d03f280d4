//! The tools L&D staff use before anything reaches a learner: `nudge check` (every problem in
//! packs and config), `preview` (every message of a pack), `try` (`play.rs`: a pack played in
//! the terminal) and `simulate` (the load a pack puts on learners, on a virtual clock).

pub mod check;
pub(crate) mod play;
pub(crate) mod preview;
pub(crate) mod simulate;
