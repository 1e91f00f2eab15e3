//! The hand-made operation sequences of `rekey_model`: ten per design of
//! the catalogue (two- and three-revocation histories under every remedy,
//! rotate each root role, revoke each, revoke twice then rotate, shred then
//! every workload, revoke then shred), for the seed corpus
//! (`seq-<design>-<scheme>-<sequence>`) and the unit tests.

use super::super::pick::{DesignPick, SchemePick};
use super::{ExtentPick, RekeyCase, RekeyOp};

/// Hand-made operation sequences for every design (the seed corpus and the unit tests).
pub(in crate::fuzzing) fn seed_cases() -> Vec<(String, RekeyCase)> {
    use ExtentPick::{All, One, Tenant};
    let rot = |role, extent, lazy| RekeyOp::RotateRoot { role, extent, lazy };
    let rev = |role, extent| RekeyOp::Revoke { role, extent };
    // A revocation's role pick carries the remedy in its top two bits (see
    // `ops::remedy_of`): 0x00 rotate, 0x40 rekey, 0x80 partial, 0xC0 rekey-key.
    let sequences: Vec<(&str, Vec<RekeyOp>)> = vec![
        ("revoke-then-revoke-another", vec![rev(0, All), rev(1, All)]),
        (
            "three-revocations",
            vec![rev(2, All), rev(0, Tenant), rev(1, All)],
        ),
        (
            "rekey-remedy-then-revoke-another",
            vec![rev(0x40, All), rev(0x41, One), rev(2, All)],
        ),
        (
            "partial-remedy-then-revoke-another",
            vec![rev(0x80, All), rev(1, All), rev(2, Tenant)],
        ),
        (
            "rekey-key-remedy-then-rotate-and-revoke",
            vec![rev(0xC0, One), rot(1, All, false), rev(0x01, All)],
        ),
        (
            "rotate-each-role",
            vec![
                rot(0, One, false),
                rot(1, Tenant, true),
                rot(2, All, false),
                RekeyOp::UnwrapAll { cold: false },
                RekeyOp::Recover {
                    leaf: 1,
                    roots: 0b0000_0101,
                },
            ],
        ),
        (
            "revoke-each-role",
            vec![
                rev(0, One),
                rev(1, Tenant),
                rev(2, All),
                RekeyOp::UnwrapAll { cold: true },
                RekeyOp::Recover {
                    leaf: 0,
                    roots: 0b0000_0011,
                },
            ],
        ),
        (
            "revoke-twice-then-rotate",
            vec![
                rev(0, All),
                rev(0, All),
                rot(0, All, false),
                rev(2, One),
                RekeyOp::UnwrapAll { cold: false },
            ],
        ),
        (
            "shred-then-workloads",
            vec![
                RekeyOp::Shred { tenant: 1 },
                RekeyOp::UnwrapAll { cold: false },
                rot(0, All, false),
                rev(2, All),
                rot(2, One, true),
                RekeyOp::Recover {
                    leaf: 5,
                    roots: 0xFF,
                },
            ],
        ),
        (
            "revoke-shred-unwrap",
            vec![
                rev(1, One),
                RekeyOp::Shred { tenant: 0 },
                rev(0, Tenant),
                RekeyOp::UnwrapAll { cold: true },
                RekeyOp::Recover {
                    leaf: 2,
                    roots: 0b0000_1001,
                },
            ],
        ),
    ];
    let schemes = SchemePick::ALL;
    let mut out = Vec::new();
    for (d, design) in DesignPick::ALL.into_iter().enumerate() {
        for (i, (name, ops)) in sequences.iter().enumerate() {
            let scheme = schemes[(d + i) % schemes.len()];
            let case = RekeyCase {
                design,
                scheme,
                tenants: 1,
                groups: 1,
                leaves: (d + i) as u8,
                uniform: i % 2 == 1,
                seed: 0x5EED + (d * 8 + i) as u64,
                ops: ops.clone(),
            };
            out.push((
                format!("seq-{}-{}-{name}", design.design_name(), scheme.id().name()),
                case,
            ));
        }
    }
    out
}
