//! The delivery numbers of answerable prompts sent and not yet answered, as a sparse bitset.
//!
//! Answers refer to their prompt by delivery number. Keeping one bit per number (in blocks of
//! 4096, allocated only where numbers occur) links each answer to its prompt without holding any
//! delivery in memory: a million prompts take about 128 KB.

use std::collections::HashMap;

use crate::domain::DeliverySeq;

/// Bits per block.
const BLOCK_BITS: u64 = 4096;
/// 64-bit words per block.
const BLOCK_WORDS: usize = (BLOCK_BITS / 64) as usize;

/// A set of delivery numbers.
#[derive(Debug, Default)]
pub(crate) struct SeqSet {
    blocks: HashMap<u64, Box<[u64; BLOCK_WORDS]>>,
}

impl SeqSet {
    /// Adds `seq`.
    pub(crate) fn insert(&mut self, seq: DeliverySeq) {
        let (block, word, bit) = position(seq);
        self.blocks.entry(block).or_insert_with(|| Box::new([0; BLOCK_WORDS]))[word] |= bit;
    }

    /// Removes `seq`; true when it was there (so only the first answer to a prompt counts).
    pub(crate) fn take(&mut self, seq: DeliverySeq) -> bool {
        let (block, word, bit) = position(seq);
        let Some(words) = self.blocks.get_mut(&block) else { return false };
        let was_there = words[word] & bit != 0;
        words[word] &= !bit;
        was_there
    }
}

/// Block number, word in the block and bit mask of `seq`.
fn position(seq: DeliverySeq) -> (u64, usize, u64) {
    let offset = seq.get() % BLOCK_BITS;
    (seq.get() / BLOCK_BITS, (offset / 64) as usize, 1 << (offset % 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_number_is_taken_once_even_far_apart() {
        let mut set = SeqSet::default();
        for seq in [0, 63, 64, 4095, 4096, 1_000_000_007, u64::MAX].map(DeliverySeq::new) {
            set.insert(seq);
        }
        for seq in [0, 63, 64, 4095, 4096, 1_000_000_007, u64::MAX].map(DeliverySeq::new) {
            assert!(set.take(seq), "{seq} was inserted");
            assert!(!set.take(seq), "{seq} is taken only once");
        }
        assert!(!set.take(DeliverySeq::new(5)));
        assert!(!set.take(DeliverySeq::new(9_999_999)));
    }
}
