//! Operation counts of a workload, and the size of a stored record: the unit in
//! which the analytic model and the metered executor are compared.

use crate::graph::hierarchy::Hierarchy;

/// Operation counts of a workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Wrap operations (one per layer).
    pub wraps: u64,
    /// Unwrap operations (one per layer).
    pub unwraps: u64,
    /// Wraps and unwraps performed with a root key, plus root keys created or destroyed.
    pub root_ops: u64,
    /// Non-root keys given new material.
    pub keys_rekeyed: u64,
    /// Of which leaves.
    pub leaves_rekeyed: u64,
    /// Share-based keys re-shared (same secret, new shares).
    pub keys_reshared: u64,
    /// Roots replaced by a new version (or destroyed, for shred).
    pub roots_replaced: u64,
    /// Stored wraps written again.
    pub wraps_rewritten: u64,
    /// Bytes of stored wraps written again (wire-format records).
    pub bytes_rewritten: u64,
}

impl Counts {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Counts) {
        self.wraps += o.wraps;
        self.unwraps += o.unwraps;
        self.root_ops += o.root_ops;
        self.keys_rekeyed += o.keys_rekeyed;
        self.leaves_rekeyed += o.leaves_rekeyed;
        self.keys_reshared += o.keys_reshared;
        self.roots_replaced += o.roots_replaced;
        self.wraps_rewritten += o.wraps_rewritten;
        self.bytes_rewritten += o.bytes_rewritten;
    }
}

/// Bytes of the wire-format record of slot `s`.
pub fn record_len(h: &Hierarchy, s: u32) -> usize {
    let layers = h.slot_keks(s).len();
    crate::crypto::wire::encoded_len(layers, Hierarchy::wrap_len(h.scheme, layers))
}
