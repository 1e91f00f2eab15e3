//! Medians and quantiles of samples, one definition for the whole crate.
//!
//! The `p` quantile of `n` sorted samples is the sample at rank
//! `round((n - 1) · p)` (nearest rank, halves rounded away from zero), so
//! every figure is a sample that was measured, never an interpolation. The
//! median is the 0.5 quantile: the middle sample of an odd count, the upper
//! of the two middle ones of an even count (`sorted[n / 2]` either way).
//! Floats are ordered by [`f64::total_cmp`]. An empty sample has no quantile
//! (`None`); what to show instead is the caller's choice.
//!
//! This module only selects samples: it never times, formats or prints.

/// The `p` quantile (`0 <= p <= 1`) of samples already sorted ascending.
pub fn quantile_of_sorted<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (last as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// The median of samples already sorted ascending.
pub fn median_of_sorted<T: Copy>(sorted: &[T]) -> Option<T> {
    quantile_of_sorted(sorted, 0.5)
}

/// A sorted copy of `samples`.
pub fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `p` quantile of `samples`, in any order.
pub fn quantile(samples: &[f64], p: f64) -> Option<f64> {
    quantile_of_sorted(&sorted(samples), p)
}

/// The median of `samples`, in any order.
pub fn median(samples: &[f64]) -> Option<f64> {
    quantile(samples, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_middle_or_the_upper_middle_sample() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
        // the same as `sorted[n / 2]` at every length
        for n in 1..40usize {
            let v: Vec<f64> = (0..n).map(|i| ((i * 7) % n) as f64).collect();
            let s = sorted(&v);
            assert_eq!(median(&v), Some(s[n / 2]), "n = {n}");
        }
    }

    #[test]
    fn quantiles_are_nearest_rank_rounded() {
        let v: Vec<u64> = (0..=100).collect();
        assert_eq!(quantile_of_sorted(&v, 0.99), Some(99));
        assert_eq!(quantile_of_sorted(&v, 0.0), Some(0));
        assert_eq!(quantile_of_sorted(&v, 1.0), Some(100));
        // 4 samples: ranks round(0.75) = 1, round(1.5) = 2, round(2.25) = 2
        let four = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(quantile_of_sorted(&four, 0.25), Some(20.0));
        assert_eq!(quantile_of_sorted(&four, 0.5), Some(30.0));
        assert_eq!(quantile_of_sorted(&four, 0.75), Some(30.0));
        // out of range clamps to the ends; nothing in, nothing out
        assert_eq!(quantile_of_sorted(&four, 2.0), Some(40.0));
        assert_eq!(quantile_of_sorted::<u64>(&[], 0.5), None);
        // NaN sorts last under total_cmp and is never the median of mostly numbers
        assert_eq!(median(&[f64::NAN, 1.0, 2.0, 3.0, 4.0]), Some(3.0));
    }
}
