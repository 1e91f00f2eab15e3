//! How big a hierarchy will be, known before anything is allocated: keys,
//! stored wraps and bytes estimated from the design and the shape's
//! distributions, held against the memory this machine has available, so an
//! absurd request fails at once with the estimate instead of after minutes
//! with an allocation failure.

use crate::crypto::scheme::SchemeId;
use crate::error::{Error, Result};
use crate::graph::design::Design;
use crate::graph::hierarchy::{Hierarchy, Layout};
use crate::graph::shape::{Dist, Shape};

/// What a hierarchy will hold, estimated.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// Groups.
    pub groups: f64,
    /// Leaves.
    pub leaves: f64,
    /// Keys (nodes).
    pub keys: f64,
    /// Stored wraps (slots).
    pub wraps: f64,
    /// Bytes of the in-memory structure (arrays and payload arena).
    pub bytes: f64,
}

/// Headroom for the generator's and workloads' buffers over the structure
/// (the generator measured 55.4 peak-RSS bytes per leaf over 53.7 of structure).
const HEADROOM: f64 = 1.25;
/// Fixed allowance for the process itself.
const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// Estimates the hierarchy `design` on `shape` under `scheme` will make.
pub fn estimate(design: &Design, shape: &Shape, scheme: SchemeId) -> Estimate {
    let layout = Layout::of(design);
    let tenants = f64::from(shape.tenants);
    // Tenant t has groups.at(t) groups, its j-th with leaves.at(t + j) leaves:
    // visit at most 2^16 tenants, evenly spaced, and scale (counts fall
    // monotonically with the rank, so the sum stays close).
    let n = u64::from(shape.tenants);
    let samples = n.clamp(1, 1 << 16);
    let step = n as f64 / samples as f64;
    let (mut groups, mut leaves) = (0.0, 0.0);
    for i in 0..samples {
        let t = (i as f64 * step) as u64;
        let g = match shape.groups {
            Dist::Uniform { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
            d => f64::from(d.at(t, 0, 0)),
        };
        groups += g;
        leaves += shape.leaves.prefix_sum(t + g.round() as u64) - shape.leaves.prefix_sum(t);
    }
    let (groups, leaves) = (groups * step, leaves * step);
    let slots_of = |r: u8| design.roles[usize::from(r)].slots.len() as f64;
    let per_tenant_slots: f64 = layout.tenant_roles.iter().map(|&r| slots_of(r)).sum();
    let per_group_slots: f64 = layout.group_roles.iter().map(|&r| slots_of(r)).sum::<f64>()
        + layout
            .level_roles
            .iter()
            .zip(&layout.level_width)
            .map(|(&r, &w)| slots_of(r) * w as f64)
            .sum::<f64>();
    let global_slots: f64 = layout.global_roles.iter().map(|&r| slots_of(r)).sum();
    let keys = layout.global_roles.len() as f64
        + tenants * layout.tenant_roles.len() as f64
        + groups * layout.group_head() as f64
        + leaves;
    let wraps = global_slots
        + tenants * per_tenant_slots
        + groups * per_group_slots
        + leaves * slots_of(layout.leaf_role);
    let max_layers = design.max_layers();
    let stride = Hierarchy::wrap_len(scheme, max_layers) as f64;
    // Per key: role (1), version (4), slot start (4); per wrap: KEK ids and
    // payload; per group and tenant: their starts and counts.
    let bytes =
        keys * 9.0 + wraps * (4.0 * max_layers as f64 + stride) + groups * 8.0 + tenants * 8.0;
    Estimate {
        groups,
        leaves,
        keys,
        wraps,
        bytes,
    }
}

/// Memory this machine can give a new allocation now (`MemAvailable`), if known.
pub fn memory_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses a hierarchy that cannot be indexed (2^32 keys or wraps) or will not
/// fit in `available` bytes, saying what it would take.
pub fn check(
    design: &Design,
    shape: &Shape,
    scheme: SchemeId,
    available: Option<u64>,
) -> Result<Estimate> {
    let e = estimate(design, shape, scheme);
    let limit = f64::from(u32::MAX - 1);
    let too_many = |what: &str, n: f64| {
        Error::InvalidShape(format!(
            "design {} on {shape} makes about {} {what}; at most {} fit the index (use a smaller shape)",
            design.name,
            si(n),
            si(limit)
        ))
    };
    if e.leaves >= limit {
        return Err(too_many("leaves", e.leaves));
    }
    if e.keys >= limit {
        return Err(too_many("keys", e.keys));
    }
    if e.wraps >= limit {
        return Err(too_many("stored wraps", e.wraps));
    }
    let need = e.bytes * HEADROOM + BASE_BYTES;
    if let Some(avail) = available
        && need > avail as f64
    {
        return Err(Error::InvalidShape(format!(
            "design {} on {shape} needs about {} of memory ({} keys, {} stored wraps); this machine has {} available",
            design.name,
            bytes(need),
            si(e.keys),
            si(e.wraps),
            bytes(avail as f64)
        )));
    }
    Ok(e)
}

/// `1.2 M`, `3.4 G`: a count in SI units.
fn si(n: f64) -> String {
    match n {
        n if n >= 1e12 => format!("{:.1} T", n / 1e12),
        n if n >= 1e9 => format!("{:.1} G", n / 1e9),
        n if n >= 1e6 => format!("{:.1} M", n / 1e6),
        n if n >= 1e3 => format!("{:.1} k", n / 1e3),
        n => format!("{n:.0}"),
    }
}

/// `3.5 GiB`.
fn bytes(n: f64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if n >= GIB {
        format!("{:.1} GiB", n / GIB)
    } else {
        format!("{:.0} MiB", n / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_shapes_are_refused_at_once_with_the_estimate() {
        let flat = Design::by_name("flat").unwrap();
        let huge = Shape {
            tenants: 10_000_000,
            groups: Dist::Fixed(1000),
            leaves: Dist::Fixed(1),
        };
        let e = check(&flat, &huge, SchemeId::Kw, Some(24 << 30))
            .unwrap_err()
            .to_string();
        assert!(e.contains("leaves") && e.contains("at most"), "{e}");
        let tree = Design::by_name("tree:1024,1024,64").unwrap();
        let tiny = Shape::preset("tiny").unwrap();
        let e = check(&tree, &tiny, SchemeId::Kw, Some(24 << 30))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("needs about") && e.contains("24.0 GiB available"),
            "{e}"
        );
        let fits = Design::by_name("tree:1024,1024,8").unwrap();
        assert!(check(&fits, &tiny, SchemeId::Kw, Some(24 << 30)).is_ok());
        assert!(check(&fits, &tiny, SchemeId::Kw, Some(1 << 30)).is_err());
    }
}
