//! SharePoint's availability key held per forest: tenant `t` in forest
//! `t % N`. The name grammar, the layout, what a forest key's leak exposes,
//! a revocation of one forest's key, the hierarchy file, and risk per forest,
//! each against figures summed by hand from the tenants' leaves.

use keyhier::SchemeId;
use keyhier::internal::analysis::exposure::blast;
use keyhier::internal::analysis::risk::{RiskEvent, RiskReport, Scenario};
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::workload::{RunOptions, State, Workload, run};
use keyhier::internal::graph::design::Design;
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::reach::{Extent, largest_tenant};
use keyhier::internal::graph::shape::{Dist, Shape};
use keyhier::internal::store::hfile;

fn shape() -> Shape {
    Shape {
        tenants: 10,
        groups: Dist::Uniform { min: 1, max: 3 },
        leaves: Dist::Uniform { min: 1, max: 9 },
    }
}

fn built(design: &str) -> (Hierarchy, keyhier::internal::store::keyring::Keyring) {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: shape(),
        scheme: SchemeId::Kw,
        seed: 5,
    };
    generate(&spec, &|_| {}).unwrap()
}

/// Leaves of the tenants of forest `f` of `n`.
fn forest_leaves(h: &Hierarchy, f: u32, n: u32) -> u64 {
    (0..h.tenants())
        .filter(|t| t % n == f)
        .map(|t| h.tenant_leaves(t))
        .sum()
}

#[test]
fn the_name_takes_a_forest_count_and_says_what_is_wrong() {
    let d = Design::by_name("sharepoint:forests=4").unwrap();
    assert_eq!((d.name.as_str(), d.forests), ("sharepoint:forests=4", 4));
    let one = Design::by_name("sharepoint:forests=1").unwrap();
    assert_eq!(one.name, "sharepoint", "one forest is the plain design");
    assert_eq!(one, Design::sharepoint());
    for bad in [
        "sharepoint:forests=0",
        "sharepoint:forests=x",
        "sharepoint:4",
        "sharepoint:forests=99999",
    ] {
        let e = Design::by_name(bad).unwrap_err().to_string();
        assert!(e.contains("forests"), "{bad}: {e}");
    }
    let e = Design::m365().with_forests(2).unwrap_err().to_string();
    assert!(e.contains("no key is held per forest"), "{e}");
}

#[test]
fn one_availability_key_per_forest_and_a_leak_exposes_its_forest() {
    for n in [1u32, 3, 4] {
        let name = if n == 1 {
            "sharepoint".to_owned()
        } else {
            format!("sharepoint:forests={n}")
        };
        let (h, _) = built(&name);
        let ak = h.design.role_by_name("ak").unwrap();
        let aks: Vec<u32> = (0..h.nodes())
            .filter(|&k| h.role[k as usize] == ak)
            .collect();
        assert_eq!(aks.len() as u32, n, "{name}");
        h.check().unwrap();
        let b = blast(&h);
        let exposed = |e: Extent| {
            b.exposure
                .iter()
                .find(|x| x.roles == "ak" && x.extent == e)
                .unwrap()
                .leaves_exposed
        };
        let biggest = (0..n).map(|f| forest_leaves(&h, f, n)).max().unwrap();
        assert_eq!(
            exposed(Extent::One),
            biggest,
            "{name}: the key above the most leaves"
        );
        let t = largest_tenant(&h);
        assert_eq!(
            exposed(Extent::Tenant),
            forest_leaves(&h, t % n, n),
            "{name}: the largest tenant's forest"
        );
        assert_eq!(exposed(Extent::All), h.leaves(), "{name}");
    }
}

#[test]
fn revoking_one_forests_key_rekeys_that_forest_only_verified() {
    let n = 3;
    let (h, ring) = built(&format!("sharepoint:forests={n}"));
    let ak = h.design.role_by_name("ak").unwrap();
    let mut st = State {
        h: h.clone(),
        ring,
        gen_seed: Some(5),
    };
    let row = run(
        &mut st,
        &Workload::Revoke {
            role: ak,
            extent: Extent::Tenant,
        },
        &RunOptions::default(),
    )
    .unwrap();
    assert!(row.verification.verified, "{:?}", row.verification);
    assert!(row.counts_match, "{:?} vs {:?}", row.measured, row.analytic);
    let t = largest_tenant(&h);
    assert_eq!(row.measured.leaves_rekeyed, forest_leaves(&h, t % n, n));
}

#[test]
fn the_hierarchy_file_keeps_the_forests() {
    let (h, _) = built("sharepoint:forests=3");
    let bytes = hfile::encode(&h).unwrap();
    let back = hfile::decode(&bytes).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.design.forests, 3);
}

#[test]
fn risk_takes_each_forests_key_on_its_own() {
    // One event per provider key, p = 0.1: a leaf sits under exactly one
    // availability key (its forest's) and under no other root that the event
    // takes, so P(leaf exposed) = 0.1 whatever the forests, and P(some leaf
    // exposed) = 1 − 0.9^N with N forests.
    for n in [1u32, 4] {
        let d = Design::sharepoint().with_forests(n).unwrap();
        let h =
            keyhier::internal::graph::skeleton::skeleton(&d, &shape(), SchemeId::Kw, 5).unwrap();
        let ev: RiskEvent = "infra=0.1:ak:key".parse().unwrap();
        let sc = Scenario::given(vec![ev], vec![]);
        let r = RiskReport::of(std::slice::from_ref(&h), None, &sc).unwrap();
        let r = &r.designs[0];
        assert!(
            (r.p_leaf_exposed - 0.1).abs() < 1e-12,
            "{n}: {}",
            r.p_leaf_exposed
        );
        let any = 1.0 - 0.9f64.powi(n as i32);
        assert!((r.p_any_leaf_exposed.unwrap() - any).abs() < 1e-12, "{n}");
    }
}
