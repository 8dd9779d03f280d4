//! An approximate median in constant memory: a histogram with logarithmic buckets.
//!
//! Each bucket spans a factor of [`GROWTH`]; the median is reported as the geometric middle of
//! its bucket, so it is off by at most `sqrt(GROWTH) - 1`, just under 5 % (durations under a
//! second all count as half a second). Exact medians would need every duration in memory,
//! which a report over a million answers must not hold.

/// How much wider each bucket is than the one before it.
const GROWTH: f64 = 1.1;
/// Buckets: the first holds durations under one second, the last everything from about six
/// years on.
const BUCKETS: usize = 200;

/// Counts of durations (in seconds) per logarithmic bucket.
#[derive(Debug, Clone)]
pub(crate) struct LogHistogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0 }
    }
}

impl LogHistogram {
    /// Counts one duration; negative or not-a-number durations are ignored.
    pub(crate) fn add(&mut self, seconds: f64) {
        if seconds.is_nan() || seconds < 0.0 {
            return;
        }
        self.counts[bucket_of(seconds)] += 1;
        self.total += 1;
    }

    /// The median, within about 5 %; `None` when nothing was counted.
    pub(crate) fn median(&self) -> Option<f64> {
        let middle = self.total.div_ceil(2);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= middle && *count > 0 {
                return Some(middle_of(bucket));
            }
        }
        None
    }
}

/// Bucket 0 holds `[0, 1)`, bucket `i` holds `[GROWTH^(i-1), GROWTH^i)` seconds.
fn bucket_of(seconds: f64) -> usize {
    if seconds < 1.0 {
        return 0;
    }
    let bucket = (seconds.ln() / GROWTH.ln()).floor() as usize + 1;
    bucket.min(BUCKETS - 1)
}

/// The value reported for a bucket: its geometric middle.
fn middle_of(bucket: usize) -> f64 {
    if bucket == 0 {
        return 0.5;
    }
    GROWTH.powf(bucket as f64 - 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(durations: &[f64], exact_median: f64) {
        let mut histogram = LogHistogram::default();
        durations.iter().for_each(|&seconds| histogram.add(seconds));
        let median = histogram.median().expect("a median");
        let error = (median - exact_median).abs() / exact_median;
        assert!(error <= 0.05, "median {median} vs exact {exact_median}: {:.1} % off", error * 100.0);
    }

    #[test]
    fn median_is_within_five_percent_on_skewed_data() {
        // Most answer within a minute or two, a long tail answers days later.
        let mut skewed: Vec<f64> = (0..900).map(|idx| 30.0 + f64::from(idx % 90)).collect();
        skewed.extend((0..100).map(|idx| 86_400.0 * f64::from(1 + idx % 10)));
        let mut sorted = skewed.clone();
        sorted.sort_by(f64::total_cmp);
        check(&skewed, sorted[sorted.len() / 2 - 1]);
        check(&[5.0, 7.0, 3600.0], 7.0);
        check(&[2_000_000.0; 3], 2_000_000.0);
    }

    #[test]
    fn sub_second_durations_count_as_half_a_second() {
        let mut histogram = LogHistogram::default();
        [0.2, 0.4, 0.6].into_iter().for_each(|seconds| histogram.add(seconds));
        assert_eq!(histogram.median(), Some(0.5));
    }

    #[test]
    fn empty_histogram_has_no_median_and_ignores_bad_durations() {
        let mut histogram = LogHistogram::default();
        histogram.add(-3.0);
        histogram.add(f64::NAN);
        assert_eq!(histogram.median(), None);
    }
}
