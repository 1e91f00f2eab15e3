//! What the kernels call back between rounds of steps: the prefetch hints.
//! Below both the chunk driver (which makes them) and the backends (which
//! call them), so neither imports the other for it.

/// What the kernels call once per round of steps: `driver::Ahead` on arenas,
/// [`NoHints`] (compiled away) on slices.
pub(crate) trait Hints {
    /// Hints the next few wraps (once per round of four steps).
    fn step(&mut self);
    /// Drops what is left (the portable path does not hint).
    fn all(&mut self);
}

/// No hints: slices the caller already holds in cache.
pub(crate) struct NoHints;

impl Hints for NoHints {
    #[inline(always)]
    fn step(&mut self) {}
    #[inline(always)]
    fn all(&mut self) {}
}
