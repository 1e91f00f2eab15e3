//! The design and the scheme a fuzz case picks, shared by `unwrap_path` and
//! `rekey_model`. A design is picked from [`FUZZED`] (the first six entries
//! of the catalogue) by index, read from the input exactly as the derived
//! `Arbitrary` of a fieldless enum reads a variant (a `u32` `x`, then
//! `(x * len) >> 32`), so a committed corpus file keeps picking the same
//! design as long as those entries keep their order and their number (a
//! seventh fuzzed design would move most inputs to another design, as a
//! seventh enum variant would have). Designs added to the catalogue after
//! them are not fuzzed.

use std::fmt;

use arbitrary::{Arbitrary, Unstructured};

use crate::crypto::scheme::SchemeId;
use crate::graph::design::{Design, Entry, FUZZED};

/// A design of [`FUZZED`], by index; it generates the entry's tiny
/// (`fuzzed`) instance.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DesignPick(usize);

impl DesignPick {
    /// Every design fuzzed, in catalogue order.
    pub const ALL: [DesignPick; FUZZED.len()] = {
        let mut all = [DesignPick(0); FUZZED.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = DesignPick(i);
            i += 1;
        }
        all
    };

    /// The design whose catalogue name (or fuzzed instance's name) is `name`.
    pub fn named(name: &str) -> Option<DesignPick> {
        FUZZED
            .iter()
            .position(|e| e.name == name || e.fuzzed == name)
            .map(DesignPick)
    }

    /// Its index in the catalogue.
    pub fn index(self) -> usize {
        self.0
    }

    /// Its catalogue entry.
    pub fn entry(self) -> &'static Entry {
        match FUZZED.get(self.0) {
            Some(e) => e,
            None => panic!("design pick {} beyond the catalogue", self.0),
        }
    }

    /// The name of the instance generated (`m365`, `tree:2,2`).
    pub fn design_name(self) -> &'static str {
        self.entry().fuzzed
    }

    /// The design generated.
    pub fn design(self) -> Design {
        match Design::by_name(self.design_name()) {
            Ok(d) => d,
            Err(e) => panic!("built-in design {} refused: {e}", self.design_name()),
        }
    }
}

impl fmt::Debug for DesignPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DesignPick({})", self.design_name())
    }
}

impl<'a> Arbitrary<'a> for DesignPick {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let x = u64::from(u32::arbitrary(u)?);
        let i = (x * FUZZED.len() as u64) >> 32;
        usize::try_from(i)
            .map(DesignPick)
            .map_err(|_| arbitrary::Error::IncorrectFormat)
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        u32::size_hint(depth)
    }
}

/// The schemes a case picks from.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SchemePick {
    Kw,
    Kwp,
    Gcm,
    GcmSiv,
}

impl SchemePick {
    /// Every scheme, in the order above.
    pub const ALL: [SchemePick; 4] = [
        SchemePick::Kw,
        SchemePick::Kwp,
        SchemePick::Gcm,
        SchemePick::GcmSiv,
    ];

    /// The scheme.
    pub fn id(self) -> SchemeId {
        match self {
            SchemePick::Kw => SchemeId::Kw,
            SchemePick::Kwp => SchemeId::Kwp,
            SchemePick::Gcm => SchemeId::Gcm,
            SchemePick::GcmSiv => SchemeId::GcmSiv,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enum `DesignPick` was (six fieldless variants, derived `Arbitrary`),
    /// against which the catalogue index must read every `u32` the same way.
    #[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
    enum Before {
        M365,
        Flat,
        Dke,
        Threshold,
        Sharepoint,
        Tree22,
    }

    #[test]
    fn a_design_pick_reads_bytes_as_the_enum_it_replaced() {
        let names = ["m365", "flat", "dke", "threshold", "sharepoint", "tree:2,2"];
        // A spread of values, and both sides of every boundary between variants.
        let spread = (0..=u32::MAX / 0x0001_0F3B).map(|i| i * 0x0001_0F3B);
        let edges = (1..6u64).flat_map(|i| {
            let b = ((i << 32).div_ceil(6)) as u32;
            [b - 1, b]
        });
        for x in spread.chain(edges).chain([u32::MAX]) {
            let bytes = x.to_le_bytes();
            let old = Before::arbitrary(&mut Unstructured::new(&bytes));
            let new = DesignPick::arbitrary(&mut Unstructured::new(&bytes));
            let (Ok(old), Ok(new)) = (old, new) else {
                panic!("{x:#x} did not read")
            };
            assert_eq!(new.design_name(), names[old as usize], "{x:#x}");
        }
        for short in [&[][..], &[7][..], &[1, 2, 3][..]] {
            let old = Before::arbitrary(&mut Unstructured::new(short)).map(|b| names[b as usize]);
            let new =
                DesignPick::arbitrary(&mut Unstructured::new(short)).map(DesignPick::design_name);
            assert_eq!(old.ok(), new.ok(), "{short:?}");
        }
    }

    #[test]
    fn a_pick_by_name_is_the_pick_of_that_index() {
        for p in DesignPick::ALL {
            assert_eq!(DesignPick::named(p.design_name()), Some(p));
            assert_eq!(DesignPick::named(p.entry().name), Some(p));
            assert_eq!(p.design().name, p.design_name());
        }
        assert_eq!(DesignPick::named("tree:9"), None);
        // designs after the fuzzed ones are never picked
        assert_eq!(DesignPick::named("provider"), None);
    }
}
