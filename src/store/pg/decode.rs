//! A fast reading of the delivery and answer JSON in `record`, for passes over whole tables:
//! the values [`parse`] gives, without serde's generic machinery. It takes only the exact
//! text serde writes (fields in order, no spaces, strings without escapes, times in whole
//! milliseconds); any other record (a pending delivery's payload, an escaped quote, anything
//! malformed) goes to [`parse`], whose value or error stands. Writes nothing.

use chrono::{DateTime, NaiveDate, Utc};

use super::rows::parse;
use crate::domain::{
    Answer, AnswerKind, Confidence, Delivery, DeliverySeq, DeliveryState, ItemId, LearnerId, PracticeOutcome, Purpose,
};
use crate::store::StoreError;

/// The delivery in `text`, a `deliveries.record`.
pub(super) fn delivery(text: &str) -> Result<Delivery, StoreError> {
    fast_delivery(text).map_or_else(|| parse("deliveries", text), Ok)
}

/// The answer in `text`, an `answers.record`.
pub(super) fn answer(text: &str) -> Result<Answer, StoreError> {
    fast_answer(text).map_or_else(|| parse("answers", text), Ok)
}

/// A delivery as serde writes one that is not pending.
fn fast_delivery(text: &str) -> Option<Delivery> {
    let mut json = Scanner { rest: text };
    json.expect(r#"{"seq":"#)?;
    let seq = DeliverySeq::new(json.unsigned()?);
    json.expect(r#","learner":"#)?;
    let learner = LearnerId::new(json.signed()?);
    json.expect(r#","cohort":"#)?;
    let cohort = json.string()?.to_owned();
    json.expect(r#","created":"#)?;
    let created = json.time()?;
    json.expect(r#","slot":"#)?;
    let slot = json.nullable(Scanner::string)?.map(str::to_owned);
    json.expect(r#","purpose":{"purpose":"#)?;
    let purpose = json.purpose()?;
    json.expect(r#","state":{"state":"#)?;
    let state = json.state()?;
    json.expect(r#","outgoing":null}"#)?;
    json.end()?;
    Some(Delivery { seq, learner, cohort, created, slot, purpose, state, outgoing: None })
}

/// An answer as serde writes it.
fn fast_answer(text: &str) -> Option<Answer> {
    let mut json = Scanner { rest: text };
    json.expect(r#"{"learner":"#)?;
    let learner = LearnerId::new(json.signed()?);
    json.expect(r#","cohort":"#)?;
    let cohort = json.string()?.to_owned();
    json.expect(r#","delivery":"#)?;
    let delivery = DeliverySeq::new(json.unsigned()?);
    json.expect(r#","item":"#)?;
    let item = json.item()?;
    json.expect(r#","at":"#)?;
    let at = json.time()?;
    json.expect(r#","prompt_sent_at":"#)?;
    let prompt_sent_at = json.nullable(Scanner::time)?;
    json.expect(r#","kind":{"kind":"#)?;
    let kind = json.kind()?;
    json.expect("}")?;
    json.end()?;
    Some(Answer { learner, cohort, delivery, item, at, prompt_sent_at, kind })
}

/// What is left of a record being read; every step is `None` where the text is not what
/// serde writes.
struct Scanner<'a> {
    rest: &'a str,
}

impl<'a> Scanner<'a> {
    /// Steps over `literal` (inlined, so the comparison with a known length is a few loads).
    #[inline(always)]
    fn expect(&mut self, literal: &str) -> Option<()> {
        if !self.rest.as_bytes().starts_with(literal.as_bytes()) {
            return None;
        }
        self.rest = self.rest.get(literal.len()..)?;
        Some(())
    }

    /// Whether the text goes on with `literal` (stepped over if so).
    fn next_is(&mut self, literal: &str) -> bool {
        self.expect(literal).is_some()
    }

    /// The end of the text.
    fn end(&self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }

    /// A string without escapes or control characters (serde refuses the latter).
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.rest.strip_prefix('"')?;
        let end = rest.bytes().position(|byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
        (rest.as_bytes()[end] == b'"').then_some(())?;
        self.rest = &rest[end + 1..];
        Some(&rest[..end])
    }

    /// `null`, or what `read` reads.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.next_is("null") {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// Digits without a leading zero, as a number that fits.
    fn unsigned(&mut self) -> Option<u64> {
        let digits = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = self.rest.split_at(digits);
        if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
            return None;
        }
        self.rest = rest;
        number.parse().ok()
    }

    /// An optional minus and [`Self::unsigned`] digits, as a number that fits.
    fn signed(&mut self) -> Option<i64> {
        if self.next_is("-") {
            // serde reads `-0` as a float, which no integer field takes.
            let magnitude = self.unsigned().filter(|&magnitude| magnitude > 0)?;
            return 0i64.checked_sub_unsigned(magnitude);
        }
        i64::try_from(self.unsigned()?).ok()
    }

    /// [`Self::unsigned`] as a `usize`.
    fn size(&mut self) -> Option<usize> {
        usize::try_from(self.unsigned()?).ok()
    }

    /// `true` or `false`.
    fn boolean(&mut self) -> Option<bool> {
        if self.next_is("true") {
            return Some(true);
        }
        self.next_is("false").then_some(false)
    }

    /// A string that is an item id.
    fn item(&mut self) -> Option<ItemId> {
        ItemId::parse(self.string()?)
    }

    /// A string that is a time as serde writes one in whole milliseconds.
    fn time(&mut self) -> Option<DateTime<Utc>> {
        canonical_time(self.string()?)
    }

    /// A purpose's tag and fields and the closing brace.
    fn purpose(&mut self) -> Option<Purpose> {
        let purpose = match self.string()? {
            "lesson" => Purpose::Lesson { lesson: self.field(",\"lesson\":", Self::string)?.to_owned() },
            "quiz" => Purpose::Quiz {
                item: self.field(",\"item\":", Self::item)?,
                correct: self.field(",\"correct\":", Self::size)?,
                review: self.field(",\"review\":", Self::boolean)?,
            },
            "reflect" => Purpose::Reflect {
                item: self.field(",\"item\":", Self::item)?,
                question: self.field(",\"question\":", Self::size)?,
            },
            "practice" => Purpose::Practice { item: self.field(",\"item\":", Self::item)? },
            "practice_check" => Purpose::PracticeCheck { item: self.field(",\"item\":", Self::item)? },
            "milestone" => Purpose::Milestone,
            "reply" => Purpose::Reply,
            "team_question" => Purpose::TeamQuestion,
            "colleagues" => Purpose::Colleagues,
            "digest" => Purpose::Digest { cohort: self.field(",\"cohort\":", Self::string)?.to_owned() },
            "lead_switch" => Purpose::LeadSwitch { cohort: self.field(",\"cohort\":", Self::string)?.to_owned() },
            _ => return None,
        };
        self.expect("}")?;
        Some(purpose)
    }

    /// A sent or failed delivery's state and the closing brace (a pending one has a payload).
    fn state(&mut self) -> Option<DeliveryState> {
        let state = match self.string()? {
            "sent" => DeliveryState::Sent {
                message_id: self.field(",\"message_id\":", Self::signed)?,
                at: self.field(",\"at\":", Self::time)?,
            },
            "failed" => DeliveryState::Failed {
                reason: self.field(",\"reason\":", Self::string)?.to_owned(),
                at: self.field(",\"at\":", Self::time)?,
            },
            _ => return None,
        };
        self.expect("}")?;
        Some(state)
    }

    /// An answer's kind, its fields and the closing brace.
    fn kind(&mut self) -> Option<AnswerKind> {
        let kind = match self.string()? {
            "quiz" => AnswerKind::Quiz {
                choice: self.field(",\"choice\":", Self::size)?,
                correct: self.field(",\"correct\":", Self::boolean)?,
                review: self.field(",\"review\":", Self::boolean)?,
                confidence: match self.next_is(",\"confidence\":") {
                    true => Some(self.confidence()?),
                    false => None,
                },
            },
            "reflect" => AnswerKind::Reflect {
                question: self.field(",\"question\":", Self::size)?,
                text: self.field(",\"text\":", Self::string)?.to_owned(),
                shared: self.field(",\"shared\":", Self::boolean)?,
            },
            "practice" => AnswerKind::Practice { outcome: self.field(",\"outcome\":", Self::outcome)? },
            "practice_note" => AnswerKind::PracticeNote { text: self.field(",\"text\":", Self::string)?.to_owned() },
            _ => return None,
        };
        self.expect("}")?;
        Some(kind)
    }

    /// `key` (the comma, the name and the colon) and its value.
    #[inline(always)]
    fn field<T>(&mut self, key: &str, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        self.expect(key)?;
        read(self)
    }

    /// A quiz answer's confidence, as its tag.
    fn confidence(&mut self) -> Option<Confidence> {
        match self.string()? {
            "sure" => Some(Confidence::Sure),
            "not_sure" => Some(Confidence::NotSure),
            _ => None,
        }
    }

    /// A practice check-in's outcome, as its tag.
    fn outcome(&mut self) -> Option<PracticeOutcome> {
        match self.string()? {
            "done" => Some(PracticeOutcome::Done),
            "partly" => Some(PracticeOutcome::Partly),
            "not_yet" => Some(PracticeOutcome::NotYet),
            _ => None,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.mmmZ`, how serde writes a time in whole
/// milliseconds; `None` for any other form (a leap second too).
fn canonical_time(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let millis = match bytes.len() {
        20 => 0,
        24 if bytes[19] == b'.' => number(&bytes[20..23])?,
        _ => return None,
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (bytes.len() - 1, b'Z')];
    if separators.iter().any(|&(at, separator)| bytes[at] != separator) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(&bytes[0..4])? as i32, number(&bytes[5..7])?, number(&bytes[8..10])?)?;
    let (hour, minute, second) = (number(&bytes[11..13])?, number(&bytes[14..16])?, number(&bytes[17..19])?);
    (second < 60).then_some(())?;
    Some(date.and_hms_milli_opt(hour, minute, second, millis)?.and_utc())
}

/// The decimal number `digits` spell, if they are all digits.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| digit.is_ascii_digit().then(|| value * 10 + u32::from(digit - b'0')))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
