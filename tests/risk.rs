//! `risk` on `tiny` against figures computed by hand, against a brute force
//! over every subset of events judged by each design's promise (not by the
//! graph the analysis asks), and against `blast` at probability 1.

use keyhier::SchemeId;
use keyhier::internal::analysis::exposure::blast;
use keyhier::internal::analysis::risk::{
    DesignRisk, EventKind, RiskEvent, RiskModel, RiskReport, Scenario,
};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design};
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::reach::Extent;
use keyhier::internal::graph::shape::Shape;
use keyhier::internal::graph::skeleton::skeleton;

fn tiny(design: &str) -> Hierarchy {
    let d = Design::by_name(design).unwrap();
    skeleton(&d, &Shape::preset("tiny").unwrap(), SchemeId::Kw, 1).unwrap()
}

fn events(list: &[&str]) -> Vec<RiskEvent> {
    list.iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn risk_of(design: &str, compromises: &[&str], losses: &[&str]) -> DesignRisk {
    let h = tiny(design);
    let sc = Scenario::given(events(compromises), events(losses));
    let r = RiskReport::of(std::slice::from_ref(&h), None, &sc).unwrap();
    r.designs.into_iter().next().unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-12 + 1e-9 * b.abs();
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn m365_on_tiny_equals_the_figures_worked_by_hand() {
    // A leaks ck1 (p 0.1), B the availability keys (p 0.01), one event each:
    // any one root opens a mailbox, so P(exposed) = 1 − (1 − 0.1)(1 − 0.01).
    // Losses: C loses ck1 and ck2 together (0.5), D every ak (0.2): a mailbox
    // is lost only when all three are, so P(lost) = 0.5 · 0.2.
    let r = risk_of(
        "m365",
        &["a=0.1:ck1", "b=0.01:ak"],
        &["c=0.5:ck1,ck2", "d=0.2:ak"],
    );
    let exposed = 1.0 - 0.9 * 0.99;
    close(r.p_leaf_exposed, exposed, "p_leaf_exposed");
    close(r.p_leaf_exposed_largest_tenant, exposed, "largest tenant");
    close(r.expected_leaves_exposed, 98.0 * exposed, "expected leaves");
    // one event each, taking the role everywhere: a hit exposes every leaf
    close(r.p_any_leaf_exposed.unwrap(), exposed, "any leaf");
    close(r.p_loss, 0.1, "p_loss");
    close(r.p_any_leaf_lost.unwrap(), 0.1, "any leaf lost");

    // The same per tenant: each of the 4 tenants is hit on its own.
    let r = risk_of(
        "m365",
        &["a=0.1:ck1:tenant", "b=0.01:ak:tenant"],
        &["c=0.5:ck1,ck2:tenant", "d=0.2:ak:tenant"],
    );
    close(r.p_leaf_exposed, exposed, "per leaf, tenant extent");
    close(
        r.p_any_leaf_exposed.unwrap(),
        1.0 - (0.9f64 * 0.99).powi(4),
        "any of 4 tenants",
    );
    close(
        r.p_any_leaf_lost.unwrap(),
        1.0 - (0.9f64).powi(4),
        "any lost",
    );

    // Each availability key on its own: 7 DEPs on tiny.
    let h = tiny("m365");
    assert_eq!(h.groups(), 7);
    let r = risk_of("m365", &["b=0.01:ak:key"], &["c=0.3:ck1,ck2"]);
    close(r.p_leaf_exposed, 0.01, "one ak per mailbox");
    close(
        r.p_any_leaf_exposed.unwrap(),
        1.0 - 0.99f64.powi(7),
        "any of 7",
    );
    close(r.p_loss, 0.0, "ak never lost");

    // `one`: the ck1 above the most leaves, the largest tenant's (55 of 98).
    let r = risk_of("m365", &["a=0.1:ck1:one"], &["c=0.1:ck1"]);
    assert_eq!(r.largest_tenant_leaves, 55);
    close(r.p_leaf_exposed, 0.1 * 55.0 / 98.0, "mean");
    close(r.p_leaf_exposed_largest_tenant, 0.1, "largest tenant");
    close(r.p_any_leaf_exposed.unwrap(), 0.1, "any");
}

#[test]
fn threshold_dke_and_the_baseline_by_hand() {
    let (a, b, c) = (0.1, 0.2, 0.3);
    let ev = ["a=0.1:ck1", "b=0.2:ck2", "c=0.3:ak"];
    // 2-of-3: at least two of the three.
    let r = risk_of("threshold", &ev, &ev);
    let two = a * b + a * c + b * c - 2.0 * a * b * c;
    close(r.p_leaf_exposed, two, "threshold exposed");
    // lost when at least two of the three shares are gone
    close(r.p_loss, two, "threshold lost");
    // dke: both ck1 and ak needed; losing either loses the leaf. ck2 is no
    // role of dke: beside m365 (which has it) the event takes nothing there.
    let sc = Scenario::given(events(&ev), events(&ev));
    let r = RiskReport::of(&[tiny("dke"), tiny("m365")], None, &sc).unwrap();
    let r = &r.designs[0];
    close(r.p_leaf_exposed, a * c, "dke exposed");
    close(r.p_loss, 1.0 - (1.0 - a) * (1.0 - c), "dke lost");
    assert_eq!(r.roles_absent, ["b: ck2"]);
    // alone, dke refuses a role none of the designs has
    assert!(
        RiskReport::of(&[tiny("dke")], None, &sc)
            .unwrap_err()
            .to_string()
            .contains("\"ck2\" is no root role")
    );
    // the baseline holds one provider root per DEP: `provider` takes it
    let r = risk_of("provider", &["p=0.01:provider"], &["l=0.001:pk:key"]);
    close(r.p_leaf_exposed, 0.01, "provider exposed");
    close(r.p_loss, 0.001, "provider lost");
    close(
        r.p_any_leaf_lost.unwrap(),
        1.0 - 0.999f64.powi(7),
        "any pk lost",
    );
}

#[test]
fn the_default_events_on_m365_equal_the_hand_computation() {
    let h = tiny("m365");
    let b = tiny("provider");
    let sc = Scenario::assumed();
    let r = RiskReport::of(&[h, b], Some("provider"), &sc).unwrap();
    assert!(r.assumptions);
    let m = &r.designs[0];
    // customer-admins 0.01 takes ck1+ck2 of the tenant; customer-key-leak 0.002 each
    // customer key; provider-key-infra 0.0001 every ak: any one root exposes a mailbox.
    let exposed = 1.0 - 0.99 * 0.998 * 0.998 * 0.9999;
    close(m.p_leaf_exposed, exposed, "defaults exposed");
    // no leaf exposed only if no instance happens: one global, three per tenant
    close(
        m.p_any_leaf_exposed.unwrap(),
        1.0 - 0.9999 * (0.99f64 * 0.998 * 0.998).powi(4),
        "any exposed",
    );
    // lost: both customer keys (the tenant's vaults 0.001, or each key 0.01) and ak (0.00001)
    let both = 0.001 + 0.999 * 0.01 * 0.01;
    close(m.p_loss, both * 0.00001, "defaults lost");
    let base = r.baseline_row().unwrap();
    close(base.p_leaf_exposed, 0.0001, "baseline exposed");
    close(base.p_loss, 0.00001, "baseline lost");
}

/// P(exposed) by brute force: every subset of events (extent all), its
/// probability, and whether the design's promise opens a leaf from the roles
/// taken. The analysis asks the graph instead: they must agree on every design.
#[test]
fn the_graph_agrees_with_every_promise_over_every_subset_of_events() {
    let probs = [0.3, 0.05, 0.2];
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let h = tiny(name);
        let d = &h.design;
        let promise = d.promise().unwrap();
        let roots = d.root_roles();
        // one event per root role, then one taking the first two together
        let mut texts: Vec<String> = roots
            .iter()
            .zip(probs)
            .enumerate()
            .map(|(i, (&r, p))| format!("e{i}={p}:{}", d.roles[usize::from(r)].name))
            .collect();
        let mut sets: Vec<Vec<u8>> = roots.iter().map(|&r| vec![r]).collect();
        if roots.len() >= 2 {
            texts.push(format!(
                "pair=0.07:{},{}",
                d.roles[usize::from(roots[0])].name,
                d.roles[usize::from(roots[1])].name
            ));
            sets.push(vec![roots[0], roots[1]]);
        }
        let p_of: Vec<f64> = texts
            .iter()
            .map(|t| t.split(['=', ':']).nth(1).unwrap().parse().unwrap())
            .collect();
        let (mut want_exposed, mut want_lost) = (0.0, 0.0);
        for mask in 0u32..1 << texts.len() {
            let mut p = 1.0;
            let mut held: Vec<u8> = Vec::new();
            for (i, &pi) in p_of.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    p *= pi;
                    held.extend(&sets[i]);
                } else {
                    p *= 1.0 - pi;
                }
            }
            if promise.opens(d, &|r| held.contains(&r)) {
                want_exposed += p;
            }
            if !promise.opens(d, &|r| !held.contains(&r)) {
                want_lost += p;
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let r = risk_of(name, &refs, &refs);
        close(r.p_leaf_exposed, want_exposed, &format!("{name} exposed"));
        close(r.p_loss, want_lost, &format!("{name} lost"));
    }
}

/// At probability 1 an event is certain: the leaves it exposes are blast's.
#[test]
fn certain_events_expose_what_blast_says() {
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let h = tiny(name);
        let b = blast(&h);
        let model = RiskModel::new(&h).unwrap();
        for &r in &h.design.root_roles() {
            let role = &h.design.roles[usize::from(r)].name;
            for (extent, word) in [(Extent::One, "one"), (Extent::All, "all")] {
                let e = events(&[&format!("x=1:{role}:{word}")]);
                let f = model.figures(EventKind::Compromise, &e, true);
                let row = b
                    .exposure
                    .iter()
                    .find(|x| x.roles == *role && x.extent == extent)
                    .unwrap();
                close(
                    f.expected_leaves,
                    row.leaves_exposed as f64,
                    &format!("{name} {role} {word}"),
                );
                let f = model.figures(EventKind::Loss, &e, true);
                let row = b
                    .availability
                    .iter()
                    .find(|x| x.roles == *role && x.extent == extent)
                    .unwrap();
                close(
                    f.expected_leaves,
                    row.leaves_lost as f64,
                    &format!("{name} {role} {word} lost"),
                );
            }
        }
    }
}

#[test]
fn sensitivity_moves_each_event_and_bad_scenarios_are_refused() {
    let h = tiny("m365");
    let sc = Scenario::given(events(&["a=0.1:ck1", "b=0.01:ak"]), events(&["c=0.5:ck1"]));
    let r = RiskReport::of(std::slice::from_ref(&h), None, &sc).unwrap();
    assert!(!r.assumptions);
    let a = r.sensitivity.iter().find(|x| x.event == "a").unwrap();
    close(a.at_tenth, 1.0 - 0.99 * 0.99, "a ÷10");
    close(a.at_ten_times, 1.0, "a ×10 caps at 1");
    let c = r.sensitivity.iter().find(|x| x.event == "c").unwrap();
    assert_eq!(c.kind, EventKind::Loss);
    close(c.base, 0.0, "ck1 alone loses nothing");
    // a role no design analysed has, and two events of one name
    let bad = Scenario::given(events(&["a=0.1:ck9"]), vec![]);
    let err = RiskReport::of(std::slice::from_ref(&h), None, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ck9") && err.contains("ck1, ck2, ak"), "{err}");
    let twice = Scenario::given(events(&["a=0.1:ck1", "a=0.2:ck2"]), vec![]);
    assert!(
        RiskReport::of(std::slice::from_ref(&h), None, &twice)
            .unwrap_err()
            .to_string()
            .contains("two compromise events are named")
    );
    let dep = Scenario::given(events(&["a=0.1:dep"]), vec![]);
    assert!(RiskReport::of(std::slice::from_ref(&h), None, &dep).is_err());
}
