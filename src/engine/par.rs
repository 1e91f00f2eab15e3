//! Splitting skewed work for rayon.
//!
//! Tenants differ in size by orders of magnitude (zipf by rank, the largest
//! first). Handed to rayon one tenant per item, its adaptive splitter halves
//! the index range a few times and then runs each half sequentially unless a
//! thread steals from it, so one thread can be left with the front half,
//! holding most of the work, while the other sleeps. The engines instead cut
//! the tenants into consecutive pieces of about equal weight (keys to open or
//! rewrap), enough of them for every thread to steal many times, and hand
//! rayon one piece per job.

use core::ops::Range;

/// Pieces per thread: enough for stealing to even out what is left at the end.
const PIECES_PER_THREAD: u64 = 16;

/// Consecutive ranges of `weights` whose weights add up to about `target`
/// each; an item heavier than `target` is a range of its own. Every index is
/// in exactly one range, in order.
pub fn pieces(weights: &[u64], target: u64) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::new();
    let (mut start, mut sum) = (0, 0u64);
    for (i, &w) in weights.iter().enumerate() {
        if sum > 0 && sum.saturating_add(w) > target {
            out.push(start..i);
            (start, sum) = (i, 0);
        }
        sum = sum.saturating_add(w);
    }
    if start < weights.len() {
        out.push(start..weights.len());
    }
    out
}

/// The piece weight for `total` on the current rayon pool: about
/// [`PIECES_PER_THREAD`] pieces per thread, none lighter than `min` (below
/// which a job costs more to hand out than to run).
pub fn target(total: u64, min: u64) -> u64 {
    let threads = rayon::current_num_threads().max(1) as u64;
    (total / (threads * PIECES_PER_THREAD)).max(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_every_index_once_in_order() {
        let weights = [100, 1, 1, 1, 50, 50, 0, 0, 7, 300, 2];
        for target in [0, 1, 10, 60, 100, 1000] {
            let p = pieces(&weights, target);
            let flat: Vec<usize> = p.iter().flat_map(Clone::clone).collect();
            assert_eq!(
                flat,
                (0..weights.len()).collect::<Vec<_>>(),
                "target {target}"
            );
            for r in &p {
                let w: u64 = weights[r.clone()].iter().sum();
                // a piece goes over the target only when it is one item
                assert!(
                    w <= target.max(1) || r.len() == 1 || weights[r.start] == 0,
                    "{r:?} at {target}"
                );
            }
        }
        assert!(pieces(&[], 5).is_empty());
        assert_eq!(pieces(&[1, 1, 1, 1], 2), vec![0..2, 2..4]);
    }
}
