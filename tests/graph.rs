//! The key graph on `tiny`, exhaustively: for every subset of roots, the
//! leaves the engine says are recoverable equal what each design promises
//! (the promise of its catalogue entry, written from the design's
//! description, evaluated here by scanning roots, not through the engine's
//! slot resolution); real unwrapping agrees on a sample of
//! subsets; generation is deterministic across thread counts; the file
//! format round-trips and rejects corruption with typed errors.

use std::collections::HashMap;

use keyhier::internal::crypto::prf::Prf;
use keyhier::internal::crypto::scheme::GLOBAL_TENANT;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::recover::{CacheMode, recover_key, recover_leaves};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design, Owner, Scope};
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::reach::reach;
use keyhier::internal::graph::shape::{Dist, Shape};
use keyhier::internal::store::hfile;
use keyhier::{Error, SchemeId};

fn tiny(design: &str, scheme: SchemeId) -> (Hierarchy, keyhier::internal::store::keyring::Keyring) {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: Shape::preset("tiny").unwrap(),
        scheme,
        seed: 11,
    };
    generate(&spec, &|_| {}).unwrap()
}

/// Root nodes by (role name, tenant, group, ordinal) found by scanning, not
/// by resolution: the ordinal counts the shared keys of one role in node
/// order (a forest-scoped role has one per forest, forest by forest).
struct Roots {
    by: HashMap<(String, u32, Option<u32>, u32), u32>,
    list: Vec<u32>,
}

fn roots(h: &Hierarchy) -> Roots {
    let mut by = HashMap::new();
    let mut list = Vec::new();
    let mut seen: HashMap<(String, u32, Option<u32>), u32> = HashMap::new();
    for n in 0..h.nodes() {
        if h.is_root(n) {
            let name = h.design.roles[usize::from(h.role[n as usize])].name.clone();
            let at = (name.clone(), h.tenant_of(n), h.group_of(n));
            let ordinal = seen.entry(at).or_default();
            by.insert((name, h.tenant_of(n), h.group_of(n), *ordinal), n);
            *ordinal += 1;
            list.push(n);
        }
    }
    Roots { by, list }
}

/// What the design promises (its catalogue entry's `Promise`, written from
/// its definition) for a leaf in tenant `t`, group `g`, given which roots are
/// available: each named role's key above the leaf is the global one, its
/// tenant's forest's (tenant `t` in forest `t % forests`, as documented), the
/// tenant's or the group's, found by scanning (never through slots).
fn promise(h: &Hierarchy, r: &Roots, avail: &dyn Fn(u32) -> bool, t: u32, g: u32) -> bool {
    let design = &h.design;
    let Some(promise) = design.promise() else {
        panic!("no promise for {}", design.name)
    };
    promise.opens(design, &|role| {
        let name = &design.roles[usize::from(role)].name;
        let above: Vec<u32> =
            r.by.iter()
                .filter(|((n, tenant, group, ordinal), _)| {
                    let forest = if design.roles[usize::from(role)].scope == Scope::Forest {
                        t % design.forests
                    } else {
                        0
                    };
                    n == name
                        && (*tenant == GLOBAL_TENANT && *ordinal == forest || *tenant == t)
                        && group.is_none_or(|x| x == g)
                })
                .map(|(_, &node)| node)
                .collect();
        assert_eq!(
            above.len(),
            1,
            "{}: {name} above {t}/{g}: {above:?}",
            design.name
        );
        avail(above[0])
    })
}

#[test]
fn every_subset_of_roots_recovers_what_the_design_promises() {
    for design in DESIGN_NAMES
        .iter()
        .chain(&["tree:2", "sharepoint:forests=3"])
    {
        let (h, _) = tiny(design, SchemeId::Kw);
        let r = roots(&h);
        assert!(r.list.len() <= 16, "{design}: {} roots", r.list.len());
        let leaves: Vec<(u32, u32, u32)> = (0..h.groups())
            .flat_map(|g| h.group_leaf_range(g).map(move |n| (n, g)))
            .map(|(n, g)| (n, h.tenant_of(n), g))
            .collect();
        assert_eq!(leaves.len() as u64, h.leaves());
        for mask in 0u32..(1 << r.list.len()) {
            let avail = |n: u32| {
                r.list
                    .iter()
                    .position(|&x| x == n)
                    .is_some_and(|i| mask & (1 << i) != 0)
            };
            let got = reach(&h, &avail);
            for &(n, t, g) in &leaves {
                assert_eq!(
                    got.open[n as usize],
                    promise(&h, &r, &avail, t, g),
                    "{design}: leaf {n} with root mask {mask:b}"
                );
            }
        }
    }
}

#[test]
fn real_unwrapping_agrees_with_the_promise_and_returns_the_right_keys() {
    for scheme in SchemeId::ALL {
        for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
            let (h, ring) = tiny(design, scheme);
            let prf = Prf::new(11);
            let r = roots(&h);
            let full = (1u64 << r.list.len()) - 1;
            // empty, full, and a spread of subsets
            let masks: Vec<u64> = [0, full]
                .into_iter()
                .chain((1..24).map(|i| (i * 0x9E37_79B9u64) & full))
                .collect();
            for mask in masks {
                let avail = |n: u32| {
                    r.list
                        .iter()
                        .position(|&x| x == n)
                        .is_some_and(|i| mask & (1 << i) != 0)
                };
                let got = std::sync::Mutex::new(Vec::new());
                let stats = recover_leaves(&h, &ring, &avail, CacheMode::Cached, &|n, k| {
                    got.lock().unwrap().push((n, k.clone()))
                })
                .unwrap();
                let mut got = got.into_inner().unwrap();
                got.sort_by_key(|(n, _)| *n);
                let want: Vec<u32> = (0..h.groups())
                    .flat_map(|g| h.group_leaf_range(g).map(move |n| (n, g)))
                    .filter(|&(n, g)| promise(&h, &r, &avail, h.tenant_of(n), g))
                    .map(|(n, _)| n)
                    .collect();
                assert_eq!(
                    got.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                    want,
                    "{design}/{scheme}: mask {mask:b}"
                );
                assert_eq!(
                    stats.leaves_recovered + stats.leaves_unrecoverable,
                    h.leaves()
                );
                for (n, k) in &got {
                    assert_eq!(
                        *k,
                        prf.node_key(*n, 1),
                        "{design}/{scheme}: leaf {n} recovered to a wrong key"
                    );
                }
                // the cold path opens the same leaves to the same keys
                let cold = std::sync::Mutex::new(Vec::new());
                recover_leaves(&h, &ring, &avail, CacheMode::Cold, &|n, k| {
                    cold.lock().unwrap().push((n, k.clone()))
                })
                .unwrap();
                let mut cold = cold.into_inner().unwrap();
                cold.sort_by_key(|(n, _)| *n);
                assert_eq!(cold, got);
            }
        }
    }
}

/// A tenant heavier than a piece of work is split: its groups and runs of
/// leaves become separate jobs, while small tenants are opened in one pass,
/// batched by KEK across their groups. Both paths, on one and two threads,
/// cached and cold, must open the promised leaves to the right keys with the
/// counts of the model.
#[test]
fn giant_and_small_tenants_open_the_same_way_on_any_thread_count() {
    let shape = Shape {
        tenants: 4,
        groups: Dist::Fixed(3),
        // tenant 0: 3 groups of 3000, 1500, 1000 leaves (more than one run of
        // 4096 in all, so it is split); the others a few hundred each
        leaves: Dist::parse("zipf:1:3000").unwrap(),
    };
    for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let spec = GenSpec {
            design: Design::by_name(design).unwrap(),
            shape,
            scheme: SchemeId::Kw,
            seed: 5,
        };
        let (h, ring) = generate(&spec, &|_| {}).unwrap();
        assert!(
            h.tenant_leaves(0) > 4096,
            "{design}: tenant 0 must be split"
        );
        let prf = Prf::new(5);
        let r = roots(&h);
        // The keys of the first customer root role (ck1 in every design that
        // has one; the provider root of the baseline, which has none).
        let ck1 = (h.design.roots_of(Owner::Customer).first())
            .or(h.design.root_roles().first())
            .copied()
            .unwrap();
        let drop_ck1: Vec<u32> = r
            .list
            .iter()
            .copied()
            .filter(|&n| h.role[n as usize] == ck1)
            .collect();
        let all = |_: u32| true;
        let no_ck1 = |n: u32| !drop_ck1.contains(&n);
        let avails: [&(dyn Fn(u32) -> bool + Sync); 2] = [&all, &no_ck1];
        for (ai, avail) in avails.into_iter().enumerate() {
            let want: Vec<u32> = (0..h.groups())
                .flat_map(|g| h.group_leaf_range(g).map(move |n| (n, g)))
                .filter(|&(n, g)| promise(&h, &r, avail, h.tenant_of(n), g))
                .map(|(n, _)| n)
                .collect();
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                for mode in [CacheMode::Cached, CacheMode::Cold] {
                    let got = std::sync::Mutex::new(Vec::new());
                    let stats = pool
                        .install(|| {
                            recover_leaves(&h, &ring, avail, mode, &|n, k| {
                                assert_eq!(*k, prf.node_key(n, 1), "{design}: leaf {n}");
                                got.lock().unwrap().push(n);
                            })
                        })
                        .unwrap();
                    let mut got = got.into_inner().unwrap();
                    got.sort_unstable();
                    let what = format!("{design}, availability {ai}, {threads} threads, {mode:?}");
                    assert_eq!(got, want, "{what}");
                    assert_eq!(stats.leaves_recovered, want.len() as u64, "{what}");
                    assert_eq!(
                        stats.leaves_recovered + stats.leaves_unrecoverable,
                        h.leaves(),
                        "{what}"
                    );
                    assert_eq!(stats.per_tenant_ns.len(), h.tenants() as usize, "{what}");
                    if ai == 0 {
                        let model = keyhier::internal::engine::plan::unwrap_all_counts(
                            &h,
                            mode == CacheMode::Cold,
                        );
                        assert_eq!(stats.ops.unwraps, model.unwraps, "{what}");
                        assert_eq!(stats.ops.root_ops, model.root_ops, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn recover_key_names_the_roots_it_used() {
    let (h, ring) = tiny("m365", SchemeId::Gcm);
    let r = roots(&h);
    let leaf = h.group_leaf_range(0).start;
    let t = h.tenant_of(leaf);
    let ck2 = r.by[&("ck2".to_string(), t, None, 0)];
    let ak = r.by[&("ak".to_string(), t, Some(0), 0)];
    // only ck2 available: the key comes through ck2 alone
    let (k, used) = recover_key(&h, &ring, &|n| n == ck2, leaf).unwrap();
    assert_eq!(k, Prf::new(11).node_key(leaf, 1));
    assert_eq!(used, vec![ck2]);
    let (_, used) = recover_key(&h, &ring, &|n| n == ak, leaf).unwrap();
    assert_eq!(used, vec![ak]);
    assert_eq!(
        recover_key(&h, &ring, &|_| false, leaf).unwrap_err(),
        Error::Unrecoverable {
            key: u64::from(leaf)
        }
    );
    // threshold: two roots, both named
    let (h, ring) = tiny("threshold", SchemeId::Kw);
    let r = roots(&h);
    let leaf = h.group_leaf_range(0).start;
    let t = h.tenant_of(leaf);
    let ck1 = r.by[&("ck1".to_string(), t, None, 0)];
    let ak = r.by[&("ak".to_string(), t, Some(0), 0)];
    let (k, used) = recover_key(&h, &ring, &|n| n == ck1 || n == ak, leaf).unwrap();
    assert_eq!(k, Prf::new(11).node_key(leaf, 1));
    assert_eq!(used, vec![ck1, ak]);
    assert!(
        recover_key(&h, &ring, &|n| n == ck1, leaf).is_err(),
        "one share alone must not recover"
    );
}

#[test]
fn generation_is_identical_at_any_thread_count() {
    let shape = Shape {
        tenants: 12,
        groups: Dist::parse("zipf:0.7:5").unwrap(),
        leaves: Dist::parse("zipf:1:300").unwrap(),
    };
    for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        for scheme in [SchemeId::Kw, SchemeId::GcmSiv] {
            let spec = GenSpec {
                design: Design::by_name(design).unwrap(),
                shape,
                scheme,
                seed: 7,
            };
            let files: Vec<Vec<u8>> = [1, 2, 3]
                .into_iter()
                .map(|t| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(t)
                        .build()
                        .unwrap();
                    let (h, _) = pool.install(|| generate(&spec, &|_| {})).unwrap();
                    hfile::encode(&h).unwrap()
                })
                .collect();
            assert!(files.windows(2).all(|w| w[0] == w[1]), "{design}/{scheme}");
            let other = GenSpec {
                seed: 8,
                ..spec.clone()
            };
            let (h8, _) = generate(&other, &|_| {}).unwrap();
            assert_ne!(
                hfile::encode(&h8).unwrap(),
                files[0],
                "{design}: the seed must matter"
            );
        }
    }
}

#[test]
fn file_round_trips_and_the_structure_checks() {
    for design in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        for scheme in SchemeId::ALL {
            let (h, ring) = tiny(design, scheme);
            h.check().unwrap();
            let bytes = hfile::encode(&h).unwrap();
            let back = hfile::decode(&bytes).unwrap();
            assert_eq!(back, h);
            assert_eq!(hfile::encode(&back).unwrap(), bytes);
            ring.check_against(&back).unwrap();
            let ring2 = keyhier::internal::store::keyring::Keyring::decode(&ring.encode()).unwrap();
            assert_eq!(ring2, ring);
        }
    }
}

#[test]
fn corrupt_files_are_typed_errors() {
    let (h, _) = tiny("threshold", SchemeId::Kw);
    let bytes = hfile::encode(&h).unwrap();
    // every truncation
    for cut in 0..bytes.len() {
        assert!(
            hfile::decode(&bytes[..cut]).is_err(),
            "cut at {cut} decoded"
        );
    }
    // a trailing byte
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        hfile::decode(&long),
        Err(Error::TrailingBytes { .. })
    ));
    // header fields
    let mut b = bytes.clone();
    b[0] ^= 1;
    assert_eq!(
        hfile::decode(&b).unwrap_err(),
        Error::BadMagic {
            what: "hierarchy file"
        }
    );
    let mut b = bytes.clone();
    b[4] = 9;
    assert!(matches!(
        hfile::decode(&b),
        Err(Error::UnsupportedVersion { version: 9, .. })
    ));
    let mut b = bytes.clone();
    b[5] = 0x77;
    assert_eq!(hfile::decode(&b).unwrap_err(), Error::UnknownScheme(0x77));
    // a flip anywhere either fails to decode, or decodes to a hierarchy whose
    // payload differs (then unwrapping must catch it: see the fuzz targets)
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        if let Ok(d) = hfile::decode(&b) {
            assert_ne!(d, h, "flip at {i} decoded to the same hierarchy");
            assert_eq!(
                d.role, h.role,
                "flip at {i} changed the structure yet decoded"
            );
        }
    }
    // huge counts with no bytes behind them: refused before allocating
    let mut b = bytes[..bytes.len().min(40)].to_vec();
    let name_len = usize::from(u16::from_be_bytes([b[6], b[7]]));
    let at = 8 + name_len + 4;
    b.truncate(at);
    b.extend_from_slice(&u32::MAX.to_be_bytes());
    b.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(hfile::decode(&b), Err(Error::InvalidField { .. })));
}

#[test]
fn m365_large_bytes_per_leaf_formula() {
    // The structure costs 9 bytes per key, 4 per slot-layer and `stride` per slot:
    // check the accounting on a real hierarchy, not a constant.
    let (h, _) = tiny("m365", SchemeId::Kw);
    let per_node = 1 + 4 + 4;
    let expect = u64::from(h.nodes()) * per_node
        + 4
        + u64::from(h.slots()) * (4 * h.max_layers as u64 + h.stride as u64)
        + 4 * (h.tenant_node_start.len()
            + h.tenant_group_start.len()
            + h.group_node_start.len()
            + h.group_leaves.len()) as u64;
    assert_eq!(h.heap_bytes(), expect);
    assert_eq!(h.stride, 40);
}
