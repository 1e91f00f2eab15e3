//! The data purge path on every design: the documented steps where the
//! service offers it, the provider's window, the residue (checked by real
//! unwrapping, not only by the graph), and a clear "not supported" that
//! changes nothing where it does not.

use keyhier::SchemeId;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::workload::purge::{Actor, DEFAULT_PURGE_WINDOW_HOURS};
use keyhier::internal::engine::workload::{RunOptions, RunRow, State, Workload, run};
use keyhier::internal::graph::design::{Controller, DESIGN_NAMES, Design, Purge};
use keyhier::internal::graph::shape::Shape;
use keyhier::internal::store::hfile;

fn state(design: &str) -> State {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: Shape::preset("tiny").unwrap(),
        scheme: SchemeId::Gcm,
        seed: 3,
    };
    let (h, ring) = generate(&spec, &|_| {}).unwrap();
    State {
        h,
        ring,
        gen_seed: Some(3),
    }
}

fn purge(design: &str, tenant: u32, opts: &RunOptions) -> (RunRow, State) {
    let mut st = state(design);
    let row = run(&mut st, &Workload::Purge { tenant }, opts).unwrap();
    (row, st)
}

#[test]
fn m365_purge_follows_the_documented_path_and_leaves_nothing_live() {
    let (row, st) = purge("m365", 0, &RunOptions::default());
    assert!(row.verification.verified, "{:?}", row.verification);
    assert_eq!(row.measured, row.analytic);
    assert_eq!(row.controller, Some(Controller::CustomerRequest));
    assert_eq!(
        row.provider_can_decrypt_hours,
        Some(DEFAULT_PURGE_WINDOW_HOURS)
    );
    let p = row.purge.as_ref().unwrap();
    assert!(p.supported);
    let actors: Vec<Actor> = p.steps.iter().map(|s| s.by).collect();
    assert_eq!(
        actors,
        [
            Actor::Customer,
            Actor::Customer,
            Actor::Provider,
            Actor::Provider
        ]
    );
    let leaves = st.h.tenant_leaves(0);
    let deps = u64::from(st.h.tenant_group_start[1] - st.h.tenant_group_start[0]);
    assert_eq!(p.provider_leaves_in_window, leaves);
    assert_eq!(p.leaves_left, 0);
    assert_eq!(row.crypto_shred, Some(true));
    // every DEP's three wraps (ck1, ck2, ak) deleted; ck1, ck2 and one ak per DEP destroyed
    assert_eq!(p.wraps_deleted, 3 * deps);
    assert_eq!(row.measured.roots_replaced, 2 + deps);
    // the residue: the customer's retained versions reopen a backup of the wraps
    let customer = p.residue.iter().find(|r| r.holder == "customer").unwrap();
    assert_eq!(customer.leaves, leaves);
    assert!(row.verification.hostile_attempts >= 3 * deps);
    assert_eq!(row.verification.hostile_opened, 0);
    // still a well-formed hierarchy that round-trips
    st.h.check().unwrap();
    assert_eq!(hfile::decode(&hfile::encode(&st.h).unwrap()).unwrap(), st.h);
    // a purge of the smallest tenant leaves the others alone as well
    let last = st.h.tenants() - 1;
    let (row, _) = purge("m365", last, &RunOptions::default());
    assert!(row.verification.verified, "{:?}", row.verification);
}

#[test]
fn the_window_is_a_parameter_and_dke_closes_it_at_once() {
    let opts = RunOptions {
        purge_window_hours: 10.0,
        ..RunOptions::default()
    };
    let (row, _) = purge("m365", 1, &opts);
    assert_eq!(row.provider_can_decrypt_hours, Some(10.0));
    // dke: the customer's ck1 is in every path; once revoked, nobody decrypts
    let (row, _) = purge("dke", 0, &opts);
    assert!(row.verification.verified);
    assert_eq!(row.provider_can_decrypt_hours, Some(0.0));
    assert_eq!(row.purge.unwrap().provider_leaves_in_window, 0);
    let bad = RunOptions {
        purge_window_hours: -1.0,
        ..RunOptions::default()
    };
    let mut st = state("m365");
    assert!(run(&mut st, &Workload::Purge { tenant: 0 }, &bad).is_err());
    assert!(
        run(
            &mut st,
            &Workload::Purge { tenant: 99 },
            &RunOptions::default()
        )
        .is_err()
    );
}

#[test]
fn every_design_either_purges_verified_or_says_it_cannot_and_changes_nothing() {
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let design = Design::by_name(name).unwrap();
        let before = state(name);
        let (row, st) = purge(name, 0, &RunOptions::default());
        assert!(row.verification.verified, "{name}: {:?}", row.verification);
        assert_eq!(row.measured, row.analytic, "{name}");
        let p = row.purge.as_ref().unwrap();
        match design.purge {
            Purge::Supported => {
                assert!(p.supported, "{name}");
                assert_eq!(p.leaves_left, 0, "{name}");
            }
            Purge::Unsupported(why) => {
                assert!(!p.supported, "{name}");
                assert!(p.reason.as_deref().unwrap().contains(why), "{name}");
                assert_eq!(row.provider_can_decrypt_hours, None, "{name}");
                assert_eq!(st.h, before.h, "{name}: nothing changes");
                assert_eq!(st.ring, before.ring, "{name}: nothing changes");
            }
        }
    }
    // the three the service does not purge
    for name in ["sharepoint", "multi", "provider"] {
        assert!(
            matches!(Design::by_name(name).unwrap().purge, Purge::Unsupported(_)),
            "{name}"
        );
    }
}

#[test]
fn shred_says_whose_keys_it_destroys() {
    for (name, want) in [
        ("m365", Controller::Joint),
        ("sharepoint", Controller::Customer),
        ("provider", Controller::Provider),
    ] {
        let mut st = state(name);
        let row = run(
            &mut st,
            &Workload::Shred { tenant: 0 },
            &RunOptions::default(),
        )
        .unwrap();
        assert_eq!(row.controller, Some(want), "{name}");
    }
}
