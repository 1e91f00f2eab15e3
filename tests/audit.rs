//! The audit opens every stored wrap of every slot: a clean hierarchy passes
//! for every design and scheme; a corrupt backup slot, a corrupt share, a
//! flipped root-key bit and a keyring of another seed are each reported, by
//! key, role and slot.

use keyhier::SchemeId;
use keyhier::internal::engine::audit::{Fault, audit};
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design};
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::shape::Shape;
use keyhier::internal::store::keyring::Keyring;

fn tiny(design: &str, scheme: SchemeId, seed: u64) -> (Hierarchy, Keyring) {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: Shape::preset("tiny").unwrap(),
        scheme,
        seed,
    };
    generate(&spec, &|_| {}).unwrap()
}

fn role_of(h: &Hierarchy, n: u32) -> &str {
    &h.design.roles[usize::from(h.role[n as usize])].name
}

/// Flips one bit in the stored wrap of slot `s`.
fn corrupt(h: &mut Hierarchy, s: u32) {
    let at = s as usize * h.stride + 3;
    h.payload[at] ^= 0x10;
}

/// The slots of role `role` wrapped directly under role `under`.
fn slots_under(h: &Hierarchy, role: &str, under: &str) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    for n in 0..h.nodes() {
        if role_of(h, n) != role {
            continue;
        }
        for (p, s) in h.slots_of(n).enumerate() {
            let keks = h.slot_keks(s);
            if keks.len() == 1 && role_of(h, keks[0]) == under {
                out.push((s, p as u8));
            }
        }
    }
    out
}

#[test]
fn a_generated_hierarchy_audits_clean_for_every_design_and_scheme() {
    for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        for scheme in SchemeId::ALL {
            let (h, ring) = tiny(design, scheme, 5);
            let a = audit(&h, &ring);
            assert!(a.ok(), "{design} {scheme:?}: {:?}", a.failures.first());
            assert_eq!(a.keys_checked, u64::from(h.nodes()), "{design}");
            let non_root_slots: u64 = (0..h.nodes())
                .filter(|&n| !h.is_root(n))
                .map(|n| u64::from(h.slots_of(n).len() as u32))
                .sum();
            assert_eq!(
                a.slots_checked, non_root_slots,
                "{design}: every slot opened"
            );
            assert!(!a.keyring_mismatch);
        }
    }
}

#[test]
fn corrupt_backup_slots_of_m365_are_named_by_key_role_and_slot() {
    let (mut h, ring) = tiny("m365", SchemeId::Kw, 5);
    let ck2 = slots_under(&h, "dep", "ck2");
    let ak = slots_under(&h, "dep", "ak");
    assert!(!ck2.is_empty() && !ak.is_empty());
    for &(s, _) in ck2.iter().chain(&ak) {
        corrupt(&mut h, s);
    }
    let a = audit(&h, &ring);
    assert!(!a.ok());
    assert_eq!(a.failed, (ck2.len() + ak.len()) as u64);
    for f in &a.failures {
        assert_eq!(f.role, "dep");
        assert_eq!(f.fault, Fault::DoesNotOpen);
        assert!(f.under == "ck2" || f.under == "ak", "{f}");
        assert!(f.tenant.is_some());
    }
    let s = a.failures[0].to_string();
    assert!(s.contains("slot") && s.contains("does not open"), "{s}");
    assert_eq!(a.failed_by_role, vec![("dep".to_string(), a.failed)]);
}

#[test]
fn a_corrupt_share_of_a_threshold_key_is_found() {
    for scheme in [SchemeId::Kw, SchemeId::Gcm] {
        let (mut h, ring) = tiny("threshold", scheme, 5);
        let ak = slots_under(&h, "dep", "ak");
        let (s, p) = ak[0];
        corrupt(&mut h, s);
        let a = audit(&h, &ring);
        assert_eq!(a.failed, 1, "{scheme:?}: {:?}", a.failures);
        assert_eq!(a.failures[0].slot, Some(p));
        assert_eq!(a.failures[0].fault, Fault::DoesNotOpen);
    }
}

#[test]
fn every_flipped_bit_of_a_root_key_is_reported() {
    let (h, ring) = tiny("m365", SchemeId::Kw, 5);
    let roots: Vec<u32> = ring.nodes().collect();
    // One root of each role, every bit of its first byte and of a middle byte.
    let mut roles_seen = Vec::new();
    for &n in &roots {
        let role = role_of(&h, n).to_string();
        if roles_seen.contains(&role) {
            continue;
        }
        roles_seen.push(role.clone());
        for byte in [0usize, 17] {
            for bit in 0..8 {
                let mut bad = ring.clone();
                let (v, k) = bad.get(n).unwrap();
                let mut k = k.clone();
                k.expose_mut()[byte] ^= 1 << bit;
                bad.insert(n, v, k);
                let a = audit(&h, &bad);
                assert!(!a.ok(), "{role} byte {byte} bit {bit} passed");
                assert!(
                    a.failures.iter().all(
                        |f| f.under.contains(role.as_str()) || f.fault == Fault::KekUnavailable
                    ),
                    "{role}: {:?}",
                    a.failures.first()
                );
            }
        }
    }
    assert_eq!(roles_seen.len(), 3);
}

#[test]
fn a_keyring_of_another_seed_is_named_as_a_mismatch() {
    let (h, _) = tiny("m365", SchemeId::Kw, 5);
    let (_, other) = tiny("m365", SchemeId::Kw, 6);
    let a = audit(&h, &other);
    assert!(!a.ok());
    assert!(a.keyring_mismatch);
    assert!(a.summary().contains("does not belong"), "{}", a.summary());
}

#[test]
fn a_missing_root_is_reported_and_what_it_alone_wraps_is_unchecked() {
    let (h, mut ring) = tiny("dke", SchemeId::Kw, 5);
    let ak = (0..h.nodes())
        .find(|&n| h.is_root(n) && role_of(&h, n) == "ak")
        .unwrap();
    assert!(ring.destroy(ak));
    let a = audit(&h, &ring);
    assert!(!a.ok());
    assert_eq!(a.failures[0].key, ak);
    assert_eq!(a.failures[0].fault, Fault::RootMissing);
    assert!(a.failures.iter().any(|f| f.fault == Fault::KekUnavailable));
}

/// Two keys of `role` in one tenant, and the slot position wrapped directly under `under`.
fn two_in_a_tenant(h: &Hierarchy, role: &str, under: &str) -> (u32, u32) {
    let mut by_tenant: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (s, _) in slots_under(h, role, under) {
        by_tenant
            .entry(h.tenant_of(h.node_of_slot(s)))
            .or_default()
            .push(s);
    }
    let two = by_tenant
        .values()
        .find(|v| v.len() >= 2)
        .expect("a tenant with two");
    (two[0], two[1])
}

#[test]
fn a_wrap_moved_between_slots_under_one_kek_disagrees_or_fails_to_open() {
    for (design, scheme, want) in [
        ("m365", SchemeId::Kw, Fault::Disagrees),
        ("m365", SchemeId::Gcm, Fault::DoesNotOpen),
        ("threshold", SchemeId::Gcm, Fault::DoesNotOpen),
    ] {
        let (mut h, ring) = tiny(design, scheme, 5);
        let (a, b) = two_in_a_tenant(&h, "dep", "ck1");
        // Slot b now holds a's wrap: under kw it opens, to a's key (or share).
        let stride = h.stride;
        let src = h.payload[a as usize * stride..][..stride].to_vec();
        h.payload[b as usize * stride..][..stride].copy_from_slice(&src);
        let audit = audit(&h, &ring);
        assert_eq!(audit.failed, 1, "{design} {scheme:?}: {:?}", audit.failures);
        let f = &audit.failures[0];
        assert_eq!(
            (f.key, f.fault),
            (h.node_of_slot(b), want),
            "{design} {scheme:?}"
        );
        assert_eq!(f.under, "ck1");
    }
}

#[test]
fn a_moved_share_is_detected_but_not_located_and_nothing_below_is_trusted() {
    // 2-of-3: a share moved in under kw opens, and every pair then combines to
    // a different secret, so the split is reported ambiguous, not resolved.
    let (mut h, ring) = tiny("threshold", SchemeId::Kw, 5);
    let (a, b) = two_in_a_tenant(&h, "dep", "ck1");
    let stride = h.stride;
    let src = h.payload[a as usize * stride..][..stride].to_vec();
    h.payload[b as usize * stride..][..stride].copy_from_slice(&src);
    let dep = h.node_of_slot(b);
    let audit = audit(&h, &ring);
    let of_dep: Vec<_> = audit.failures.iter().filter(|f| f.key == dep).collect();
    assert_eq!(of_dep.len(), 4, "{of_dep:?}");
    assert!(
        of_dep[..3]
            .iter()
            .all(|f| f.fault == Fault::ShareInconsistent)
    );
    assert_eq!((of_dep[3].slot, of_dep[3].fault), (None, Fault::Ambiguous));
    // Its mailboxes are not opened under a guessed key: they are unchecked.
    assert!(
        audit
            .failures
            .iter()
            .filter(|f| f.key != dep)
            .all(|f| f.fault == Fault::KekUnavailable && f.under == "dep")
    );
}
