//! What fitting FSRS to a pack's review log leaves behind: the weights the pack's items are
//! scheduled with, and the review counts that say when to fit again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A pack's own FSRS weights, and when they were last fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackTuning {
    /// FSRS-6's 21 weights fitted on the pack's answers, in use because they predicted
    /// held-out learners' answers better than the weights before them; `None` while no fit
    /// has (the pack keeps FSRS-6's defaults).
    #[serde(default)]
    pub weights: Option<Vec<f32>>,
    /// Reviews the weights in use were fitted on (0 while there are none).
    #[serde(default)]
    pub fitted_on: u64,
    /// Reviews in the pack's log at the last fit, whether its weights were kept or not: the
    /// daemon fits again once the log holds twice as many.
    pub reviews: u64,
    /// When the last fit ran.
    pub at: DateTime<Utc>,
}
