//! A lazy roll over time on `tiny`: the curve against the formula worked by
//! hand from the groups' sizes, against the wraps the lazy rotation really
//! rewrites, and against what the old version's leak opens per design.

use keyhier::SchemeId;
use keyhier::internal::analysis::exposure::blast;
use keyhier::internal::analysis::lazy::{AccessModel, lazy_curve};
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::workload::{RunOptions, State, Workload, run};
use keyhier::internal::graph::design::Design;
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::reach::Extent;
use keyhier::internal::graph::shape::Shape;

fn state(design: &str) -> State {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape: Shape::preset("tiny").unwrap(),
        scheme: SchemeId::Kw,
        seed: 2,
    };
    let (h, ring) = generate(&spec, &|_| {}).unwrap();
    State {
        h,
        ring,
        gen_seed: Some(2),
    }
}

fn ck1(h: &Hierarchy) -> u8 {
    h.design.role_by_name("ck1").unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
        "{what}: {a} vs {b}"
    );
}

const MODEL: AccessModel = AccessModel {
    touched_per_day: 0.3,
    never_touched: 0.1,
    days: 30,
    sweep_day: None,
};

#[test]
fn flat_keeps_a_tail_of_never_touched_leaves() {
    let mut st = state("flat");
    let c = lazy_curve(&st.h, ck1(&st.h), Extent::All, &MODEL, false).unwrap();
    // one wrap per leaf under ck1, and they are the wraps the lazy rotation rewrites
    assert_eq!(c.wraps, 98);
    let w = Workload::RotateRoot {
        role: ck1(&st.h),
        extent: Extent::All,
        lazy: true,
    };
    let row = run(&mut st, &w, &RunOptions::default()).unwrap();
    assert_eq!(row.deferred.unwrap().wraps_rewritten, c.wraps);
    for d in &c.days {
        let untouched = 0.1 + 0.9 * 0.7f64.powi(d.day as i32);
        close(d.old_wraps, 98.0 * untouched, &format!("day {}", d.day));
        // each old wrap opens its own leaf under the old ck1
        close(d.leak_exposes, 98.0 * untouched, "leak");
        close(d.p_none_left, (1.0 - untouched).powi(98), "none left");
    }
    close(c.tail_wraps, 9.8, "tail");
    assert_eq!(c.destroy_day_p99, None, "never, without a sweep");
    // a sweep on day 5 ends it
    let swept = AccessModel {
        sweep_day: Some(5),
        ..MODEL
    };
    let c = lazy_curve(&state("flat").h, 0, Extent::All, &swept, false).unwrap();
    assert_eq!(c.destroy_day_p99, Some(5));
    assert!(c.days[4].old_wraps > 0.0 && c.days[5].old_wraps == 0.0);
}

#[test]
fn m365_rewraps_a_dep_on_the_first_use_of_any_of_its_mailboxes() {
    let st = state("m365");
    let h = &st.h;
    let c = lazy_curve(h, ck1(h), Extent::All, &MODEL, false).unwrap();
    assert_eq!(c.wraps, u64::from(h.groups()));
    let sizes: Vec<i32> = h.group_leaves.iter().map(|&l| l as i32).collect();
    let day0 = blast(h)
        .exposure
        .iter()
        .find(|r| r.roles == "ck1" && r.extent == Extent::All)
        .unwrap()
        .leaves_exposed;
    close(
        c.days[0].leak_exposes,
        day0 as f64,
        "day 0 is blast's ck1 leak",
    );
    for d in &c.days {
        let untouched = 0.1 + 0.9 * 0.7f64.powi(d.day as i32);
        let p: Vec<f64> = sizes.iter().map(|&n| untouched.powi(n)).collect();
        close(d.old_wraps, p.iter().sum(), &format!("day {}", d.day));
        let exposed: f64 = p.iter().zip(&sizes).map(|(p, &n)| p * f64::from(n)).sum();
        close(d.leak_exposes, exposed, "leak");
        close(
            d.p_none_left,
            p.iter().map(|p| 1.0 - p).product(),
            "none left",
        );
    }
    assert!(c.destroy_day_p99.is_some());
}

#[test]
fn the_old_version_alone_opens_nothing_under_a_threshold_or_a_double_key() {
    for name in ["threshold", "dke"] {
        let st = state(name);
        let c = lazy_curve(&st.h, ck1(&st.h), Extent::All, &MODEL, false).unwrap();
        assert!(c.wraps > 0, "{name}");
        assert!(c.days.iter().all(|d| d.leak_exposes == 0.0), "{name}");
    }
}

#[test]
fn bad_access_models_are_refused() {
    let st = state("m365");
    for bad in [
        AccessModel {
            touched_per_day: 1.5,
            ..MODEL
        },
        AccessModel {
            never_touched: -0.1,
            ..MODEL
        },
        AccessModel { days: 0, ..MODEL },
    ] {
        assert!(
            lazy_curve(&st.h, 0, Extent::All, &bad, false).is_err(),
            "{bad:?}"
        );
    }
}
