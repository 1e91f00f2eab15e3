//! "What your keys bought you": the first section of `compare`, checked on
//! the tiny preset against figures computed by hand from the default
//! events and from what the documentation says each design allows.

use keyhier::internal::analysis::risk::Scenario;
use keyhier::internal::engine::progress::Silent;
use keyhier::internal::engine::workload::RunOptions;
use keyhier::internal::graph::design::{DESIGN_NAMES, Design};
use keyhier::internal::graph::shape::PRESETS;
use keyhier::internal::suite::compare::{BoughtRow, ComparePlan, compare};

fn bought() -> Vec<BoughtRow> {
    let plan = ComparePlan {
        designs: DESIGN_NAMES
            .iter()
            .map(|n| Design::by_name(n).expect("built-in"))
            .collect(),
        workloads: [
            "revoke:customer:all",
            "revoke:provider:all",
            "shred",
            "purge",
        ]
        .iter()
        .map(|w| w.parse().expect("workload"))
        .collect(),
        preset: PRESETS[0],
        scheme: keyhier::SchemeId::Kw,
        opts: RunOptions::default(),
        sweep: vec![],
        risk: Scenario::assumed(),
        roots: None,
    };
    compare(&plan, &Silent).expect("compare").bought
}

fn row<'a>(rows: &'a [BoughtRow], design: &str) -> &'a BoughtRow {
    rows.iter()
        .find(|r| r.design == design)
        .unwrap_or_else(|| panic!("no row for {design}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 + 1e-9 * b.abs()
}

#[test]
fn the_answer_sets_every_design_against_the_provider_baseline_with_hand_computed_figures() {
    let rows = bought();
    assert_eq!(rows.len(), DESIGN_NAMES.len());
    assert_eq!(rows[0].design, "provider", "the baseline comes first");
    assert!(rows[0].baseline && rows.iter().filter(|r| r.baseline).count() == 1);

    // The default events: tenant admins 0.01 (both customer roots of a
    // tenant), each customer key alone 0.002, the provider's infrastructure
    // 0.0001 (every provider root).
    let (admins, key, infra) = (0.01, 0.002, 0.0001);
    let provider = row(&rows, "provider");
    assert!(close(provider.p_leaf_exposed, infra));
    // m365: any one of ck1, ck2, ak opens a leaf.
    let m365 = row(&rows, "m365");
    let p = 1.0 - (1.0 - admins) * (1.0 - key) * (1.0 - key) * (1.0 - infra);
    assert!(
        close(m365.p_leaf_exposed, p),
        "{} vs {p}",
        m365.p_leaf_exposed
    );
    assert!(close(m365.exposed_vs_baseline.expect("ratio"), p / infra));
    // threshold: two of the three; the admins event alone takes two.
    let t = row(&rows, "threshold");
    let (a, b, c) = (key, key, infra);
    let two = a * b * (1.0 - c) + a * c * (1.0 - b) + b * c * (1.0 - a) + a * b * c;
    let p = admins + (1.0 - admins) * two;
    assert!(close(t.p_leaf_exposed, p), "{} vs {p}", t.p_leaf_exposed);
    // dke: ck1 and ak both (its only customer root is ck1).
    let dke = row(&rows, "dke");
    let p = (1.0 - (1.0 - admins) * (1.0 - key)) * infra;
    assert!(
        close(dke.p_leaf_exposed, p),
        "{} vs {p}",
        dke.p_leaf_exposed
    );

    // Loss: customer key deleted 0.01 each, both vaults 0.001 per tenant,
    // the provider's roots 0.00001. m365 loses a leaf only when all three go.
    let (deleted, vaults, plost) = (0.01, 0.001, 0.00001);
    let both = vaults + (1.0 - vaults) * deleted * deleted;
    assert!(close(m365.p_loss, both * plost), "{}", m365.p_loss);
    assert!(close(provider.p_loss, plost));
    // dke: losing either root loses the leaf.
    let p = 1.0 - (1.0 - vaults) * (1.0 - deleted) * (1.0 - plost);
    assert!(close(dke.p_loss, p), "{} vs {p}", dke.p_loss);

    // The worst single leak: every one of m365's roots opens everything;
    // none of threshold's or dke's opens anything.
    assert_eq!(m365.worst_single_leak, Some(("ck1, ck2, ak".into(), 1.0)));
    assert_eq!(t.worst_single_leak.as_ref().map(|x| x.1), Some(0.0));
    assert_eq!(dke.worst_single_leak.as_ref().map(|x| x.1), Some(0.0));
}

#[test]
fn control_says_who_still_decrypts_after_the_customer_revokes_and_whether_purge_is_offered() {
    let rows = bought();
    // users / provider services / provider on request
    let revoked = |d: &str| row(&rows, d).after_customer_revokes;
    assert_eq!(
        revoked("m365"),
        Some([0.0, 1.0, 1.0]),
        "the availability key serves the provider"
    );
    assert_eq!(
        revoked("sharepoint"),
        Some([0.0, 0.0, 1.0]),
        "recovery only, on request"
    );
    assert_eq!(revoked("threshold"), Some([0.0, 0.0, 0.0]));
    assert_eq!(revoked("dke"), Some([0.0, 0.0, 0.0]));
    assert_eq!(revoked("provider"), None, "the customer holds no key");
    assert!(row(&rows, "provider").customer_roots.is_empty());

    let purge = |d: &str| row(&rows, d).purge.clone().expect("a purge row");
    assert!(matches!(purge("m365"), Ok((h, 0)) if h > 0.0));
    for d in ["multi", "sharepoint", "provider"] {
        assert!(purge(d).is_err(), "{d}: the purge path does not cover it");
    }

    // Recovery: the customer's own revocation, verified, with its root
    // operations split between the customer's vaults and the provider.
    for r in rows.iter().filter(|r| !r.baseline) {
        let c = r.recovery.as_ref().expect("a revocation row");
        assert!(c.verified, "{}", r.design);
        assert_eq!(c.controller, Some("customer"), "{}", r.design);
        assert!(c.customer_root_ops > 0, "{}", r.design);
    }
    let base = row(&rows, "provider")
        .recovery
        .as_ref()
        .expect("baseline revocation");
    assert_eq!(base.controller, Some("provider"));
    assert_eq!(base.customer_root_ops, 0);
}
