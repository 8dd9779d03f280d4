//! What `nudge tune` prints for the admin: per pack, the log it had, the old and new weights side
//! by side, the log loss of both on the held-out learners, and whether the new ones were saved.

use std::fmt::Write as _;

use super::from_store::{Outcome, PackReport};
use super::{MIN_GAIN, MIN_LEARNERS, MIN_REVIEWS};

/// What each of FSRS-6's 21 weights is about.
const WEIGHTS: [&str; 21] = [
    "first stability after a wrong answer (days)",
    "first stability after a hard answer (days)",
    "first stability after a right answer (days)",
    "first stability after an easy answer (days)",
    "first difficulty",
    "first difficulty: effect of the grade",
    "difficulty: change per grade",
    "difficulty: pull back to the start",
    "after a right answer: stability growth",
    "after a right answer: less growth when stable",
    "after a right answer: more growth when nearly forgotten",
    "after a wrong answer: stability kept",
    "after a wrong answer: effect of difficulty",
    "after a wrong answer: effect of stability",
    "after a wrong answer: effect of recall",
    "hard: penalty",
    "easy: bonus",
    "same day: effect of the grade",
    "same day: offset",
    "same day: less growth when stable",
    "forgetting curve: decay",
];

/// The text of one report per pack.
pub fn render(reports: &[PackReport]) -> String {
    let mut out = String::new();
    for (idx, report) in reports.iter().enumerate() {
        if idx > 0 {
            out.push('\n');
        }
        pack(&mut out, report);
    }
    out
}

fn pack(out: &mut String, report: &PackReport) {
    let _ = writeln!(
        out,
        "pack {}: {} reviews by {} learners",
        report.pack,
        thousands(report.reviews),
        thousands(report.learners as u64)
    );
    match &report.outcome {
        Outcome::TooFew { in_use_fitted_on } => {
            let _ = writeln!(
                out,
                "  too few to fit: at least {} reviews by {MIN_LEARNERS} learners are needed. It keeps {}.",
                thousands(MIN_REVIEWS),
                in_use(*in_use_fitted_on)
            );
        }
        Outcome::Fitted {
            old,
            old_fitted_on,
            new,
            held_out_learners,
            held_out_reviews,
            old_log_loss,
            new_log_loss,
            saved,
        } => {
            let _ = writeln!(out, "  old: {}; new: fitted on the other learners' reviews", in_use(*old_fitted_on));
            let _ = writeln!(out, "  {:>3}  {:>8}  {:>8}  weight", "", "old", "new");
            for (idx, ((old, new), label)) in old.iter().zip(new).zip(WEIGHTS).enumerate() {
                let _ = writeln!(out, "  w{idx:<2}  {old:>8.4}  {new:>8.4}  {label}");
            }
            let _ = writeln!(
                out,
                "  log loss on {} held-out learners ({} reviews): old {old_log_loss:.4}, new {new_log_loss:.4} ({})",
                thousands(*held_out_learners as u64),
                thousands(*held_out_reviews),
                change(*old_log_loss, *new_log_loss)
            );
            let _ = match saved {
                true => writeln!(
                    out,
                    "  saved: the pack's items are scheduled with the new weights from their next review on"
                ),
                false => writeln!(
                    out,
                    "  not saved: the new weights do not predict the held-out learners {:.0} % better; the old ones stay",
                    MIN_GAIN * 100.0
                ),
            };
        }
    }
}

/// The weights in use, in words.
fn in_use(fitted_on: Option<u64>) -> String {
    match fitted_on {
        Some(reviews) => format!("its weights fitted to a log of {} reviews", thousands(reviews)),
        None => "FSRS-6's default weights".to_owned(),
    }
}

/// "3.1 % lower" or "0.4 % higher".
fn change(old: f64, new: f64) -> String {
    let percent = (new - old) / old * 100.0;
    match percent < 0.0 {
        true => format!("{:.1} % lower", -percent),
        false => format!("{percent:.1} % higher"),
    }
}

/// 81234 → "81,234".
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (idx, digit) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(saved: bool) -> PackReport {
        let weights = fsrs::DEFAULT_PARAMETERS.to_vec();
        let mut new = weights.clone();
        new[2] = 0.8;
        PackReport {
            pack: "customer-focus".to_owned(),
            reviews: 81_234,
            learners: 1_000,
            outcome: Outcome::Fitted {
                old: weights,
                old_fitted_on: None,
                new,
                held_out_learners: 200,
                held_out_reviews: 16_102,
                old_log_loss: 0.4123,
                new_log_loss: if saved { 0.3871 } else { 0.4200 },
                saved,
            },
        }
    }

    #[test]
    fn a_fit_shows_both_weights_the_held_out_loss_and_the_verdict() {
        let text = render(&[fitted(true)]);
        assert!(text.starts_with("pack customer-focus: 81,234 reviews by 1,000 learners\n"), "{text}");
        assert!(
            text.contains("  old: FSRS-6's default weights; new: fitted on the other learners' reviews\n"),
            "{text}"
        );
        assert!(text.contains("  w2     2.3065    0.8000  first stability after a right answer (days)\n"), "{text}");
        assert!(text.contains("  w20    0.1542    0.1542  forgetting curve: decay\n"), "{text}");
        assert!(
            text.contains("log loss on 200 held-out learners (16,102 reviews): old 0.4123, new 0.3871 (6.1 % lower)"),
            "{text}"
        );
        assert!(text.ends_with("from their next review on\n"), "{text}");
        assert!(render(&[fitted(false)]).contains("(1.9 % higher)\n  not saved:"));
    }

    #[test]
    fn too_few_reviews_say_what_is_needed_and_what_stays() {
        let report = PackReport {
            pack: "onboarding".to_owned(),
            reviews: 312,
            learners: 12,
            outcome: Outcome::TooFew { in_use_fitted_on: None },
        };
        assert_eq!(
            render(&[report]),
            "pack onboarding: 312 reviews by 12 learners\n  too few to fit: at least 1,000 reviews by 10 learners are needed. It keeps FSRS-6's default weights.\n"
        );
    }
}
