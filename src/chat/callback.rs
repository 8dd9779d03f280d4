//! Button data: what a pressed button sends back, encoded in at most 64 bytes whatever the
//! content, and decoded strictly (anything else is treated as forged or stale).
//!
//! A quiz button carries only the delivery number and the option: the delivery is looked up
//! under the pressing learner's own id, so data copied from someone else's message finds
//! nothing.

use crate::domain::{DeliverySeq, PracticeOutcome};
use crate::i18n::Lang;

/// Telegram's limit on callback data.
pub(crate) const MAX_CALLBACK_BYTES: usize = 64;

/// What a button means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callback {
    /// Option `option` of the quiz sent as delivery `seq`.
    Quiz {
        /// The delivery that carried the quiz.
        seq: DeliverySeq,
        /// 0-based option.
        option: usize,
    },
    /// How sure the learner is of the answer they just gave to the quiz sent as delivery `seq`
    /// (the second tap): looked up under the presser's own id, and counted only while that
    /// answer waits for it.
    Confidence {
        /// The delivery that carried the quiz.
        seq: DeliverySeq,
        /// "Sure" (else "not sure").
        sure: bool,
    },
    /// An answer to "how did your practice go?" sent as delivery `seq`.
    Practice {
        /// The delivery that asked.
        seq: DeliverySeq,
        /// Done, partly or not yet.
        outcome: PracticeOutcome,
    },
    /// A choice of language for the bot's texts.
    Language(Lang),
    /// Share the answer to question `question` of reflection delivery `seq` with the team.
    Share {
        /// The delivery that asked the question.
        seq: DeliverySeq,
        /// 0-based question in the chain.
        question: usize,
    },
    /// The answer to "erase everything about me?".
    Forget(bool),
    /// The answer to "switch to the other cohort?" asked with number `nonce`.
    Move {
        /// The number of the question (the learner's pending move keeps it).
        nonce: u64,
        /// Yes, switch.
        confirm: bool,
    },
    /// Whether to share the answer to the team question sent as delivery `seq` (its note).
    TeamShare {
        /// The delivery that asked the team question.
        seq: DeliverySeq,
        /// Share with the team (without a name), or keep it to oneself.
        share: bool,
    },
    /// The answer to "become a lead instead?", asked as delivery `seq` (a
    /// [`crate::domain::Purpose::LeadSwitch`]): looked up under the presser's own id.
    LeadSwitch {
        /// The delivery that asked.
        seq: DeliverySeq,
        /// Yes, become a lead.
        confirm: bool,
    },
    /// A button that does nothing (e.g. the verdict left after answering).
    Noop,
}

impl Callback {
    /// The data to put on the button.
    pub(crate) fn encode(self) -> String {
        match self {
            Self::Quiz { seq, option } => format!("q:{seq}:{option}"),
            Self::Confidence { seq, sure } => format!("c:{seq}:{}", if sure { "y" } else { "n" }),
            Self::Practice { seq, outcome } => format!("p:{seq}:{}", outcome_code(outcome)),
            Self::Language(lang) => format!("l:{}", lang.code()),
            Self::Share { seq, question } => format!("s:{seq}:{question}"),
            Self::Forget(sure) => if sure { "f:yes" } else { "f:no" }.to_owned(),
            Self::Move { nonce, confirm } => format!("m:{nonce}:{}", if confirm { "y" } else { "n" }),
            Self::TeamShare { seq, share } => format!("ts:{seq}:{}", if share { "y" } else { "n" }),
            Self::LeadSwitch { seq, confirm } => format!("k:{seq}:{}", if confirm { "y" } else { "n" }),
            Self::Noop => "noop".to_owned(),
        }
    }

    /// Parses button data; `None` for anything nudge did not make.
    pub(crate) fn decode(data: &str) -> Option<Self> {
        if data.len() > MAX_CALLBACK_BYTES {
            return None;
        }
        if data == "noop" {
            return Some(Self::Noop);
        }
        match data {
            "f:yes" => return Some(Self::Forget(true)),
            "f:no" => return Some(Self::Forget(false)),
            _ => {}
        }
        if let Some(rest) = data.strip_prefix("m:") {
            let (nonce, answer) = rest.split_once(':')?;
            return Some(Self::Move { nonce: parse_number(nonce)?, confirm: parse_yes_no(answer)? });
        }
        if let Some(rest) = data.strip_prefix("ts:") {
            let (seq, answer) = rest.split_once(':')?;
            return Some(Self::TeamShare { seq: DeliverySeq::new(parse_number(seq)?), share: parse_yes_no(answer)? });
        }
        if let Some(rest) = data.strip_prefix("c:") {
            let (seq, answer) = rest.split_once(':')?;
            return Some(Self::Confidence { seq: DeliverySeq::new(parse_number(seq)?), sure: parse_yes_no(answer)? });
        }
        if let Some(rest) = data.strip_prefix("k:") {
            let (seq, answer) = rest.split_once(':')?;
            return Some(Self::LeadSwitch {
                seq: DeliverySeq::new(parse_number(seq)?),
                confirm: parse_yes_no(answer)?,
            });
        }
        if let Some(rest) = data.strip_prefix("s:") {
            let (seq, question) = rest.split_once(':')?;
            let question = usize::try_from(parse_number(question)?).ok().filter(|&question| question < 64)?;
            return Some(Self::Share { seq: DeliverySeq::new(parse_number(seq)?), question });
        }
        if let Some(code) = data.strip_prefix("l:") {
            return Lang::parse(code).filter(|lang| lang.code() == code).map(Self::Language);
        }
        if let Some(rest) = data.strip_prefix("p:") {
            let (seq, code) = rest.split_once(':')?;
            let outcome = match code {
                "d" => PracticeOutcome::Done,
                "p" => PracticeOutcome::Partly,
                "n" => PracticeOutcome::NotYet,
                _ => return None,
            };
            return Some(Self::Practice { seq: DeliverySeq::new(parse_number(seq)?), outcome });
        }
        let rest = data.strip_prefix("q:")?;
        let (seq, option) = rest.split_once(':')?;
        Some(Self::Quiz {
            seq: DeliverySeq::new(parse_number(seq)?),
            option: usize::try_from(parse_number(option)?).ok().filter(|&option| option < 16)?,
        })
    }
}

fn outcome_code(outcome: PracticeOutcome) -> &'static str {
    match outcome {
        PracticeOutcome::Done => "d",
        PracticeOutcome::Partly => "p",
        PracticeOutcome::NotYet => "n",
    }
}

/// `y` or `n`, as `encode` writes them.
fn parse_yes_no(text: &str) -> Option<bool> {
    match text {
        "y" => Some(true),
        "n" => Some(false),
        _ => None,
    }
}

/// Digits only (no sign, no spaces), as `encode` writes them.
fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_fits_in_64_bytes() {
        let widest = Callback::Quiz { seq: DeliverySeq::new(u64::MAX), option: 15 };
        assert!(widest.encode().len() <= MAX_CALLBACK_BYTES);
        assert_eq!(Callback::decode(&widest.encode()), Some(widest));
        assert_eq!(Callback::decode("noop"), Some(Callback::Noop));
        for callback in [
            Callback::Practice { seq: DeliverySeq::new(9), outcome: PracticeOutcome::Partly },
            Callback::Language(Lang::Da),
            Callback::Share { seq: DeliverySeq::new(12), question: 2 },
            Callback::Forget(true),
            Callback::Forget(false),
            Callback::Move { nonce: u64::MAX, confirm: true },
            Callback::Move { nonce: 3, confirm: false },
            Callback::TeamShare { seq: DeliverySeq::new(u64::MAX), share: true },
            Callback::TeamShare { seq: DeliverySeq::new(7), share: false },
            Callback::LeadSwitch { seq: DeliverySeq::new(u64::MAX), confirm: true },
            Callback::LeadSwitch { seq: DeliverySeq::new(4), confirm: false },
            Callback::Confidence { seq: DeliverySeq::new(u64::MAX), sure: true },
            Callback::Confidence { seq: DeliverySeq::new(3), sure: false },
        ] {
            assert!(callback.encode().len() <= MAX_CALLBACK_BYTES);
            assert_eq!(Callback::decode(&callback.encode()), Some(callback));
        }
    }

    #[test]
    fn rejects_anything_it_did_not_make() {
        for forged in [
            "",
            "q:",
            "q:1",
            "q:1:",
            "q:-1:0",
            "q:1:99",
            "q: 1:0",
            "x:1:0",
            "q:1:0:0",
            "q:99999999999999999999999:0",
            "q:1:+1",
            "p:1:x",
            "p:1",
            "l:fr",
            "l:NL",
            "m:1",
            "m:1:x",
            "m::y",
            "m:-1:y",
            "ts:1",
            "ts:1:x",
            "ts::y",
            "ts:-1:n",
            "ts:1:y:y",
            "k:1",
            "k:1:yes",
            "k::n",
            "c:1",
            "c:1:",
            "c::y",
            "c:-1:y",
            "c:1:sure",
            "c:1:y:y",
            "c:99999999999999999999999:n",
        ] {
            assert_eq!(Callback::decode(forged), None, "{forged:?}");
        }
        assert_eq!(Callback::decode(&"q".repeat(200)), None);
    }
}
