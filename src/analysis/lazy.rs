//! A lazy key roll over time. A rotation done lazily rewraps a stored wrap
//! under the old root version only when a key below it is first used, so
//! keys that nobody touches (inactive, disconnected, disabled mailboxes)
//! stay under the old version. Given an access model, this gives, day by
//! day: the wraps still under the old version, the probability that none is
//! left (when the old version can be destroyed), and what a leak of the old
//! version (with every stored wrap as it is that day) would expose.
//!
//! # The model
//!
//! Each leaf is never touched with probability `t` ([`AccessModel::never_touched`]);
//! otherwise it is touched on each day independently with probability `q`
//! ([`AccessModel::touched_per_day`]). A wrap `w` of key `n` under the old
//! version is rewritten on the first day a leaf below `n` is touched, so with
//! `L_w` the leaves below `n`:
//!
//! ```text
//! P(w still old after day d) = (t + (1 − t)(1 − q)^d)^{|L_w|}
//! E[wraps still old after d]  = Σ_w P(w still old after d)
//! P(no wrap left after d)     = ∏_w (1 − P(w still old after d))
//! E[leaves a leak exposes]    = Σ_w P(w still old after d) · E_w
//! ```
//!
//! where `E_w` is what the old root version opens through `w` alone (from
//! the graph: 0 under a threshold, all of `L_w` in `m365`). The sums and the
//! product are exact when the wraps' leaves are disjoint, as they are in
//! every built-in design (each key under the rotated roots sits in one
//! tenant's or one group's range; the constructor checks it). A sweep on
//! day `D` ([`AccessModel::sweep_day`]) rewraps whatever is left.
//!
//! The defaults of [`AccessModel::default`] are ASSUMPTIONS, not
//! measurements: give your own.

use crate::error::{Error, Result};
use crate::graph::design::RoleId;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::reach::{Extent, leaves_below, reach_range, select_keys};

/// How often leaves are used.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AccessModel {
    /// Share of the (not never-touched) leaves a user or system operation
    /// touches on a given day, 0 to 1. Default 0.3: an ASSUMPTION.
    pub touched_per_day: f64,
    /// Share of leaves never touched, 0 to 1. Default 0.05: an ASSUMPTION.
    pub never_touched: f64,
    /// Days to follow. Default 90.
    pub days: u32,
    /// The day a sweep rewraps everything left (none: never).
    pub sweep_day: Option<u32>,
}

impl Default for AccessModel {
    fn default() -> Self {
        AccessModel {
            touched_per_day: 0.3,
            never_touched: 0.05,
            days: 90,
            sweep_day: None,
        }
    }
}

impl AccessModel {
    /// Refuses shares outside 0 to 1 and horizons of more than ten years.
    pub fn check(&self) -> Result<()> {
        for (what, x) in [
            ("touched per day", self.touched_per_day),
            ("never touched", self.never_touched),
        ] {
            if !(0.0..=1.0).contains(&x) {
                return Err(Error::InvalidArgument(format!(
                    "{what}: {x} is not a share between 0 and 1"
                )));
            }
        }
        if self.days == 0 || self.days > 3650 {
            return Err(Error::InvalidArgument(format!(
                "{} days: follow 1 to 3650 days",
                self.days
            )));
        }
        Ok(())
    }

    /// P(a leaf is not touched in `d` days).
    fn untouched(&self, d: u32) -> f64 {
        let t = self.never_touched;
        t + (1.0 - t) * (1.0 - self.touched_per_day).powf(f64::from(d))
    }
}

/// One day of the curve.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LazyDay {
    /// Days since the rotation (0: the day of it, nothing rewrapped yet).
    pub day: u32,
    /// Expected wraps still under the old version.
    pub old_wraps: f64,
    /// Of all wraps the rotation rewrites.
    pub old_share: f64,
    /// Probability that no wrap is left under the old version.
    pub p_none_left: f64,
    /// Expected leaves a leak of the old version would expose that day.
    pub leak_exposes: f64,
}

/// The curve of one lazy rotation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LazyCurve {
    /// Design.
    pub design: String,
    /// The rotated role.
    pub role: String,
    /// Its extent.
    pub extent: Extent,
    /// The access model (ASSUMPTIONS unless given).
    pub model: AccessModel,
    /// Whether the model is the default one.
    pub assumed: bool,
    /// Wraps the rotation rewrites (all under the old version on day 0).
    pub wraps: u64,
    /// Leaves of the hierarchy.
    pub leaves: u64,
    /// Expected wraps never rewritten (below only never-touched leaves), without a sweep.
    pub tail_wraps: f64,
    /// The first day on which P(no wrap left) reaches 99%: the old version
    /// can be destroyed (none within the horizon: `None`).
    pub destroy_day_p99: Option<u32>,
    /// Day by day, 0 to `days`.
    pub days: Vec<LazyDay>,
}

/// The curve of a lazy rotation of `role` at `extent` on `h`, under `model`.
pub fn lazy_curve(
    h: &Hierarchy,
    role: RoleId,
    extent: Extent,
    model: &AccessModel,
    assumed: bool,
) -> Result<LazyCurve> {
    model.check()?;
    let below = leaves_below(h);
    let mut rotated = select_keys(h, &below, role, extent);
    rotated.sort_unstable();
    let is_rotated = |k: u32| rotated.binary_search(&k).is_ok();
    // The wraps the rotation rewrites: every slot with a layer under a rotated key.
    let old: Vec<u32> = (0..h.slots())
        .filter(|&s| h.slot_keks(s).iter().any(|&k| is_rotated(k)))
        .collect();
    let fresh = |s: u32| !h.slot_keks(s).iter().any(|&k| is_rotated(k));
    // Per key with wraps under the old version (all rewritten on its first
    // use): how many, the leaves below it, and what the old version opens
    // through them alone (every other old wrap deleted), found over the range
    // of nodes below that key.
    let mut keys: Vec<u32> = old.iter().map(|&s| h.node_of_slot(s)).collect();
    keys.dedup();
    let mut per: Vec<(u64, u64, u64)> = Vec::with_capacity(keys.len());
    let mut last_end = 0;
    for &n in &keys {
        let (lo, hi) = leaf_span(h, n);
        // Exactness needs disjoint leaves: the keys' ranges must not overlap.
        if lo < last_end {
            return Err(Error::InvalidArgument(format!(
                "design {}: keys under the rotated roots share leaves; the lazy curve's sums are exact only for disjoint ones",
                h.design.name
            )));
        }
        last_end = hi;
        let mine = h.slots_of(n);
        let kept = |x: u32| fresh(x) || mine.contains(&x);
        let opens = reach_range(h, lo..hi, &is_rotated, &kept);
        let exposed = (lo..hi)
            .filter(|&l| h.is_leaf(l) && opens[(l - lo) as usize])
            .count() as u64;
        let wraps = h.slots_of(n).filter(|&x| !fresh(x)).count() as u64;
        per.push((wraps, below[n as usize], exposed));
    }
    let wraps = old.len() as u64;
    let day = |d: u32| -> LazyDay {
        let swept = model.sweep_day.is_some_and(|s| d >= s);
        let (mut e, mut ln_none, mut leak) = (0.0, 0.0, 0.0);
        if !swept {
            for &(count, leaves, exposed) in &per {
                let p = model.untouched(d).powf(leaves as f64);
                e += p * count as f64;
                ln_none += (-p).ln_1p();
                leak += p * exposed as f64;
            }
        }
        LazyDay {
            day: d,
            old_wraps: e,
            old_share: if wraps == 0 { 0.0 } else { e / wraps as f64 },
            p_none_left: ln_none.exp(),
            leak_exposes: leak,
        }
    };
    let days: Vec<LazyDay> = (0..=model.days).map(day).collect();
    let tail_wraps = per
        .iter()
        .map(|&(count, leaves, _)| count as f64 * model.never_touched.powf(leaves as f64))
        .sum();
    let destroy_day_p99 = days.iter().find(|d| d.p_none_left >= 0.99).map(|d| d.day);
    Ok(LazyCurve {
        design: h.design.name.clone(),
        role: h.design.roles[usize::from(role)].name.clone(),
        extent,
        model: *model,
        assumed,
        wraps,
        leaves: h.leaves(),
        tail_wraps,
        destroy_day_p99,
        days,
    })
}

/// The nodes below `n` down to its leaves, as a range ending past its last
/// leaf: the key itself for a leaf, its group's rest for a group or level
/// key, its tenant's rest for a tenant key, everything for a global one.
fn leaf_span(h: &Hierarchy, n: u32) -> (u32, u32) {
    if h.is_leaf(n) {
        return (n, n + 1);
    }
    let t = h.tenant_of(n);
    match h.group_of(n) {
        Some(g) => (n, h.group_range(g).end),
        None if t == crate::crypto::scheme::GLOBAL_TENANT => (n, h.nodes()),
        None => (n, h.tenant_node_start[t as usize + 1]),
    }
}
