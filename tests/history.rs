//! The attacker who keeps everything: remedies that hold and remedies that
//! do not, histories, retained versions, share generations and nonces.

use std::collections::HashMap;

use keyhier::SchemeId;
use keyhier::internal::engine::adversary::Adversary;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::history::{EventSpec, run_history};
use keyhier::internal::engine::plan::{REMEDIES, Remedy};
use keyhier::internal::engine::workload::{RunOptions, State, Workload, run};
use keyhier::internal::graph::design::{CATALOGUE, DESIGN_NAMES, Design};
use keyhier::internal::graph::reach::{Extent, leaves_below, select_keys};
use keyhier::internal::graph::shape::Shape;

fn state(design: &str, scheme: SchemeId) -> State {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: Shape::preset("tiny").unwrap(),
        scheme,
        seed: 11,
    };
    let (h, ring) = generate(&spec, &|_| {}).unwrap();
    State {
        h,
        ring,
        gen_seed: Some(11),
    }
}

fn opts(remedy: Remedy) -> RunOptions {
    RunOptions {
        remedy,
        reference: false,
        ..RunOptions::default()
    }
}

fn events(list: &[&str]) -> Vec<EventSpec> {
    list.iter().map(|e| e.parse().unwrap()).collect()
}

fn history(design: &str, remedy: Remedy, list: &[&str]) -> Vec<(u64, u64)> {
    let mut st = state(design, SchemeId::Kw);
    let h = run_history(&mut st, &events(list), &opts(remedy), &|_, _| {}).unwrap();
    h.steps
        .iter()
        .map(|s| (s.exposed_current_leaves, s.exposed_ever_leaves))
        .collect()
}

/// The table: with re-share (or rewrap) alone, one more compromise
/// after the revocation exposes every leaf; with the default remedy, none.
#[test]
fn the_default_remedy_holds_where_reshare_and_rewrap_alone_do_not() {
    let cases = [
        ("threshold", ["leak ck1", "revoke ck1", "leak ck2"]),
        ("threshold", ["leak ak", "revoke ak", "leak ck1"]),
        ("dke", ["leak ak", "revoke ak", "leak ck1"]),
        ("dke", ["leak ck1", "revoke ck1", "leak ak"]),
    ];
    for (design, list) in cases {
        let leaves = state(design, SchemeId::Kw).h.leaves();
        for info in &REMEDIES {
            let got = history(design, info.id, &list);
            let last = got.last().unwrap().0;
            let holds = matches!(info.id, Remedy::Rotate | Remedy::Rekey);
            assert_eq!(
                last,
                if holds { 0 } else { leaves },
                "{design} {list:?} with {}",
                info.name
            );
            assert_eq!(got[0], (0, 0), "{design}: one root opens nothing");
        }
    }
}

#[test]
fn run_reports_every_remedy_and_fails_verification_with_an_insufficient_one() {
    for design in ["threshold", "dke"] {
        let st0 = state(design, SchemeId::Gcm);
        for role in st0.h.design.root_roles() {
            let w = Workload::Revoke {
                role,
                extent: Extent::All,
            };
            for info in &REMEDIES {
                let mut st = state(design, SchemeId::Gcm);
                let row = run(&mut st, &w, &opts(info.id)).unwrap();
                assert_eq!(row.remedies.len(), REMEDIES.len(), "{design}");
                let holds = matches!(info.id, Remedy::Rotate | Remedy::Rekey);
                for m in &row.remedies {
                    assert_eq!(
                        m.sufficient,
                        matches!(m.remedy, Remedy::Rotate | Remedy::Rekey),
                        "{design} {}",
                        m.name
                    );
                    assert_eq!(m.chosen, m.remedy == info.id);
                    assert!(m.sufficient || m.broken_by.is_some() && m.leaves_exposed > 0);
                }
                let om = row.verification.one_more.as_ref().unwrap();
                assert_eq!(om.holds, holds, "{design} {role} {}", info.name);
                assert_eq!(row.verification.verified, holds, "{design} {}", info.name);
                assert!(row.counts_match, "{design} {}", info.name);
                // the chosen remedy's predicted counts are what the run did
                let chosen = row.remedies.iter().find(|m| m.chosen).unwrap();
                assert_eq!(chosen.counts, row.measured, "{design} {}", info.name);
            }
        }
    }
}

/// Where no key is partly exposed, remedies coincide and are not listed; the
/// check holds for every design's every revocation with the default.
#[test]
fn every_revocation_of_every_design_holds_against_one_more_compromise() {
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let st0 = state(name, SchemeId::Kw);
        for role in st0.h.design.root_roles() {
            for extent in Extent::ALL {
                let mut st = state(name, SchemeId::Kw);
                let w = Workload::Revoke { role, extent };
                let row = run(&mut st, &w, &opts(Remedy::default())).unwrap();
                assert!(
                    row.verification.verified,
                    "{name} revoke {role} {extent:?}: {:?}",
                    row.verification.notes
                );
                let om = row.verification.one_more.unwrap();
                assert!(om.holds && om.tried > 1, "{name}");
            }
        }
    }
}

/// Two leaks with no response expose exactly what the design's promise
/// gives the leaked roots together, leaf by leaf (the promise is written
/// from each design's definition, not from its slots).
#[test]
fn two_leaks_expose_what_the_promise_gives_the_roots_together() {
    for entry in &CATALOGUE {
        let name = entry.fuzzed;
        let st = state(name, SchemeId::Kw);
        let h = &st.h;
        let d = &h.design;
        let below = leaves_below(h);
        let roots = d.root_roles();
        for &a in &roots {
            for &b in &roots {
                for (ea, eb) in [(Extent::All, Extent::One), (Extent::One, Extent::Tenant)] {
                    let ka = select_keys(h, &below, a, ea);
                    let kb = select_keys(h, &below, b, eb);
                    let mut adv = Adversary::new();
                    adv.leak(h, &ka);
                    adv.leak(h, &kb);
                    let got = adv.exposure(h).current_leaves;
                    // the promise, leaf by leaf: a role is held over a leaf when
                    // one of the leaked keys of that role is the leaf's
                    let mut want = 0u64;
                    for g in 0..h.groups() {
                        for leaf in h.group_leaf_range(g) {
                            let t = h.tenant_of(leaf);
                            let covers = |k: u32| {
                                let kt = h.tenant_of(k);
                                (kt == u32::MAX || kt == t)
                                    && h.group_of(k).is_none_or(|kg| kg == g)
                            };
                            let held = |r: u8| {
                                (r == a && ka.iter().any(|&k| covers(k)))
                                    || (r == b && kb.iter().any(|&k| covers(k)))
                            };
                            want += u64::from(entry.promise.opens(d, &held));
                        }
                    }
                    assert_eq!(got, want, "{name}: leak {a} {ea:?} then {b} {eb:?}");
                }
            }
        }
    }
}

/// A rotated-out version is retained until destroyed; with a copy of the
/// store from before the rotation it opens what it opened then.
#[test]
fn a_retained_version_and_an_old_copy_expose_until_destroyed() {
    let leaves = state("m365", SchemeId::Kw).h.leaves();
    let got = history(
        "m365",
        Remedy::Rotate,
        &["copy", "rotate ck1", "leak-retired ck1", "leak ck2:one"],
    );
    assert_eq!(got[2], (leaves, leaves), "retained ck1 + the old copy");
    let got = history(
        "m365",
        Remedy::Rotate,
        &[
            "copy",
            "rotate ck1",
            "destroy-retired ck1",
            "leak-retired ck1",
        ],
    );
    assert_eq!(got[3], (0, 0), "destroyed before it leaked");
    // nothing retained after a revocation
    let mut st = state("m365", SchemeId::Kw);
    let h = run_history(
        &mut st,
        &events(&["rotate ck2", "leak ck1", "revoke ck1"]),
        &opts(Remedy::Rotate),
        &|_, _| {},
    )
    .unwrap();
    let tenants = st.h.tenants() as usize;
    assert_eq!(
        h.steps[0].retained_versions, tenants,
        "one ck2 version each"
    );
    assert_eq!(
        h.steps[2].retained_versions, tenants,
        "ck2's stay, ck1's none"
    );
}

#[test]
fn events_are_checked_before_anything_runs() {
    for bad in [
        "",
        "leak",
        "explode ck1",
        "copy ck1",
        "leak ck1:most",
        "revoke",
    ] {
        assert!(bad.parse::<EventSpec>().is_err(), "{bad:?}");
    }
    let mut st = state("dke", SchemeId::Kw);
    let before = st.h.clone();
    let e = run_history(
        &mut st,
        &events(&["leak ak", "revoke ck2"]),
        &opts(Remedy::Rotate),
        &|_, _| {},
    );
    assert!(
        matches!(e, Err(keyhier::Error::UnknownRole { .. })),
        "{e:?}"
    );
    assert!(st.h == before, "nothing ran");
}

/// Two histories forked from one state wrap different keys under the same
/// new KEK version in the same slot (a rotation keeps the DEP key, a
/// revocation re-keys it): no (KEK, version, nonce) may seal two different
/// payloads.
#[test]
fn forked_histories_never_reuse_a_nonce_under_one_kek_version() {
    for scheme in [SchemeId::Gcm, SchemeId::GcmSiv] {
        for design in ["m365", "threshold", "dke"] {
            let base = state(design, scheme);
            let mut seen: HashMap<(u32, u32, Vec<u8>), Vec<u8>> = HashMap::new();
            let ck1 = base.h.design.role_by_name("ck1").unwrap();
            let forks = [
                vec![Workload::RotateRoot {
                    role: ck1,
                    extent: Extent::All,
                    lazy: false,
                }],
                vec![Workload::Revoke {
                    role: ck1,
                    extent: Extent::All,
                }],
                vec![
                    Workload::Revoke {
                        role: ck1,
                        extent: Extent::One,
                    },
                    Workload::Revoke {
                        role: ck1,
                        extent: Extent::All,
                    },
                ],
            ];
            let mut reuse_checked = 0;
            for fork in forks {
                let mut st = state(design, scheme);
                for w in &fork {
                    run(&mut st, w, &opts(Remedy::Partial)).unwrap();
                }
                let h = &st.h;
                for n in 0..h.nodes() {
                    for s in h.slots_of(n) {
                        let keks = h.slot_keks(s);
                        let outer = *keks.last().unwrap();
                        let p = h.slot_payload(s);
                        let key = (outer, h.version[outer as usize], p[..12].to_vec());
                        match seen.get(&key) {
                            Some(prev) => {
                                reuse_checked += 1;
                                assert_eq!(
                                    prev, p,
                                    "{scheme} {design}: a nonce sealed two payloads"
                                );
                            }
                            None => {
                                seen.insert(key, p.to_vec());
                            }
                        }
                    }
                }
            }
            assert!(reuse_checked > 0, "{design}: the forks share wraps");
        }
    }
}

/// The share generation is in the AEAD context: an old share wrap put back
/// after a re-share does not authenticate.
#[test]
fn a_rolled_back_share_wrap_fails_to_authenticate() {
    let mut st = state("threshold", SchemeId::Gcm);
    let h0 = st.h.clone();
    let ak = st.h.design.role_by_name("ak").unwrap();
    let w = Workload::Revoke {
        role: ak,
        extent: Extent::All,
    };
    run(&mut st, &w, &opts(Remedy::Partial)).unwrap();
    // ck2's share wraps keep their KEK version; only the share generation moved
    let dep = st.h.design.role_by_name("dep").unwrap();
    let n = (0..st.h.nodes())
        .find(|&n| st.h.role[n as usize] == dep)
        .unwrap();
    assert_eq!(st.h.share_gen_of(n), 1);
    let s = st.h.slots_of(n).start + 1; // the ck2 share
    let k = st.h.slot_keks(s)[0];
    assert_eq!(st.h.version[k as usize], h0.version[k as usize]);
    let stride = st.h.stride;
    let old = h0.slot_payload(s).to_vec();
    st.h.payload[s as usize * stride..][..old.len()].copy_from_slice(&old);
    let a = keyhier::internal::engine::audit::audit_where(&st.h, &st.ring, &|_| true);
    assert!(!a.ok(), "the rolled-back share wrap must fail");
    assert!(
        a.failures
            .iter()
            .any(|f| f.to_string().contains(&format!("key {n}")))
    );
}

/// What every revocation re-keys equals the reference written from each
/// design's promise (`analysis::reference`), for every design, root role,
/// extent and remedy.
#[test]
fn every_revocation_rekeys_what_the_promise_reference_says() {
    use keyhier::internal::analysis::reference::leaves_to_rekey;
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let st0 = state(name, SchemeId::Kw);
        let below = leaves_below(&st0.h);
        for role in st0.h.design.root_roles() {
            for extent in Extent::ALL {
                for info in &REMEDIES {
                    let leaked = select_keys(&st0.h, &below, role, extent);
                    let want = leaves_to_rekey(&st0.h, &leaked, info.id);
                    let mut st = state(name, SchemeId::Kw);
                    let w = Workload::Revoke { role, extent };
                    let row = run(&mut st, &w, &opts(info.id)).unwrap();
                    assert_eq!(
                        Some(row.measured.leaves_rekeyed),
                        want,
                        "{name} revoke {role} {extent:?} ({})",
                        info.name
                    );
                }
            }
        }
    }
}
