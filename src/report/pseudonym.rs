//! Pseudonyms for per-learner rows: a keyed hash of the learner id.
//!
//! HMAC-SHA256 with a secret key, so nobody without the key can turn a pseudonym back into a
//! Telegram id by hashing candidate ids; the same key gives the same pseudonym in every report,
//! so a coach can follow a row over time without learning who it is.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::LearnerId;

/// Hex digits of the hash kept: short enough to read, long enough to rarely collide in a team.
const HEX_DIGITS: usize = 8;

/// `L-` and the first 8 hex digits of HMAC-SHA256(`key`, decimal learner id).
pub(crate) fn pseudonym(key: &[u8], learner: LearnerId) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(learner.to_string().as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().take(HEX_DIGITS / 2).map(|byte| format!("{byte:02x}")).collect();
    format!("L-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
        let first = pseudonym(b"team secret", LearnerId::new(424_242));
        assert_eq!(first, pseudonym(b"team secret", LearnerId::new(424_242)));
        assert_ne!(first, pseudonym(b"another secret", LearnerId::new(424_242)));
        assert_ne!(first, pseudonym(b"team secret", LearnerId::new(424_243)));
        assert!(first.starts_with("L-") && first.len() == 10, "{first}");
        assert!(first[2..].chars().all(|ch| ch.is_ascii_hexdigit()), "{first}");
    }

    #[test]
    fn pseudonym_is_hmac_sha256_of_the_decimal_id() {
        // Computed independently with Python's hmac module.
        assert_eq!(pseudonym(b"team secret", LearnerId::new(424_242)), "L-02904b05");
        assert_eq!(pseudonym(b"team secret", LearnerId::new(-7)), "L-aa672d7c");
    }
}
