//! Workloads on every design: measured counts equal the analytic model,
//! hand-derived counts for the reference designs, verification that holds
//! and verification that catches a change doing too little.

use keyhier::SchemeId;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::engine::plan::ChangePlan;
use keyhier::internal::engine::workload::{
    DataMode, RunOptions, RunRow, State, Workload, WorkloadSpec, run, run_change,
};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design, Owner};
use keyhier::internal::graph::reach::Extent;
use keyhier::internal::graph::shape::{Dist, Shape};
use keyhier::internal::store::hfile;
use keyhier::internal::suite::compare::{default_workloads, sweep_workloads};

fn state(design: &str, shape: Shape, scheme: SchemeId) -> State {
    let spec = GenSpec {
        design: Design::by_name(design).unwrap(),
        shape,
        scheme,
        seed: 5,
    };
    let (h, ring) = generate(&spec, &|_| {}).unwrap();
    State {
        h,
        ring,
        gen_seed: Some(5),
    }
}

fn workloads(st: &State) -> Vec<Workload> {
    let mut w = vec![
        Workload::Provision,
        Workload::UnwrapAll { cold: false },
        Workload::UnwrapAll { cold: true },
    ];
    for role in st.h.design.root_roles() {
        for extent in Extent::ALL {
            w.push(Workload::RotateRoot {
                role,
                extent,
                lazy: false,
            });
            w.push(Workload::Revoke { role, extent });
        }
        w.push(Workload::RotateRoot {
            role,
            extent: Extent::All,
            lazy: true,
        });
    }
    w.push(Workload::Shred { tenant: 0 });
    w.push(Workload::Shred {
        tenant: st.h.tenants() - 1,
    });
    w.push(Workload::Purge { tenant: 0 });
    w
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape::preset("tiny").unwrap(),
        Shape {
            tenants: 5,
            groups: Dist::parse("uniform:1-4").unwrap(),
            leaves: Dist::parse("uniform:1-9").unwrap(),
        },
        Shape {
            tenants: 2,
            groups: Dist::Fixed(3),
            leaves: Dist::parse("zipf:1.5:40").unwrap(),
        },
    ]
}

#[test]
fn measured_counts_equal_the_model_and_every_run_verifies() {
    for design in DESIGN_NAMES
        .iter()
        .chain(&["tree:3", "sharepoint:forests=3"])
    {
        for (i, shape) in shapes().into_iter().enumerate() {
            let scheme = [SchemeId::Kw, SchemeId::Gcm, SchemeId::GcmSiv][i % 3];
            let fresh = state(design, shape, scheme);
            for w in workloads(&fresh) {
                let mut st = state(design, shape, scheme);
                let row = run(&mut st, &w, &RunOptions::default()).unwrap();
                assert_eq!(
                    row.measured,
                    row.analytic,
                    "{design} {} {scheme}: measured vs analytic",
                    w.label(&fresh.h.design)
                );
                assert!(
                    row.verification.verified,
                    "{design} {} {scheme}: {:?}",
                    w.label(&fresh.h.design),
                    row.verification
                );
                // after any workload the hierarchy is still well formed and round-trips
                st.h.check().unwrap();
                assert_eq!(hfile::decode(&hfile::encode(&st.h).unwrap()).unwrap(), st.h);
            }
        }
    }
}

fn run_small(design: &str, w: &WorkloadSpec) -> (RunRow, State) {
    let mut st = state(design, Shape::preset("small").unwrap(), SchemeId::Kw);
    let w = w.resolve(&st.h.design).unwrap();
    let row = run(&mut st, &w, &RunOptions::default()).unwrap();
    assert!(row.verification.verified, "{design} {}", row.workload);
    assert_eq!(row.measured, row.analytic, "{design} {}", row.workload);
    (row, st)
}

fn spec(s: &str) -> WorkloadSpec {
    s.parse().unwrap()
}

#[test]
fn hand_derived_counts_on_small() {
    let rotate = spec("rotate-root:ck1:all");
    let revoke_ak = spec("revoke:ak:all");
    // m365, rotate ck1 everywhere: one rewrap per DEP (unwrap under the old ck1, wrap under the new)
    let (r, st) = run_small("m365", &rotate);
    let deps = u64::from(st.h.groups());
    assert_eq!(
        (
            r.measured.wraps,
            r.measured.unwraps,
            r.measured.wraps_rewritten
        ),
        (deps, deps, deps)
    );
    assert_eq!(
        r.measured.root_ops,
        2 * deps + u64::from(st.h.tenants()),
        "2 per rewrap + 1 new ck1 per tenant"
    );
    assert_eq!(r.measured.keys_rekeyed, 0);
    // flat: one rewrap per leaf
    let (r, st) = run_small("flat", &rotate);
    assert_eq!(r.measured.wraps_rewritten, st.h.leaves());
    // m365, revoke ak everywhere: every leaf re-keyed
    let (r, st) = run_small("m365", &revoke_ak);
    assert_eq!(r.measured.leaves_rekeyed, st.h.leaves());
    assert_eq!(
        r.measured.keys_rekeyed,
        st.h.leaves() + u64::from(st.h.groups())
    );
    // threshold: no leaf re-keyed, every DEP re-shared (2 unwraps to open it, 3 new share wraps)
    let (r, st) = run_small("threshold", &revoke_ak);
    let deps = u64::from(st.h.groups());
    assert_eq!(
        (
            r.measured.leaves_rekeyed,
            r.measured.keys_rekeyed,
            r.measured.keys_reshared
        ),
        (0, 0, deps)
    );
    assert_eq!((r.measured.unwraps, r.measured.wraps), (2 * deps, 3 * deps));
}

#[test]
fn verification_catches_a_revocation_done_as_a_mere_rotation() {
    let mut st = state("m365", Shape::preset("tiny").unwrap(), SchemeId::Kw);
    let ck1 = st.h.design.role_by_name("ck1").unwrap();
    // rotating ck1 leaves every DEP and leaf key as it was: an attacker who had the
    // old ck1 and the old wraps still holds them, and the leaf wraps open to it
    let plan = ChangePlan::rotate(&st.h, ck1, Extent::All);
    let mut row = RunRow::default();
    run_change(
        &mut st,
        &plan,
        true,
        false,
        &RunOptions::default(),
        &mut row,
    )
    .unwrap();
    assert!(!row.verification.verified);
    assert!(row.verification.hostile_opened > 0);
}

#[test]
fn data_reencryption_is_performed_when_small_and_estimated_when_large() {
    let mut st = state("m365", Shape::preset("tiny").unwrap(), SchemeId::Kw);
    let w = spec("revoke:ck1:one").resolve(&st.h.design).unwrap();
    let row = run(
        &mut st,
        &w,
        &RunOptions {
            data_bytes_per_leaf: 4096,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(row.data.mode, DataMode::Performed);
    assert_eq!(row.data.bytes, row.measured.leaves_rekeyed * 4096);
    let mut st = state("m365", Shape::preset("tiny").unwrap(), SchemeId::Kw);
    let row = run(
        &mut st,
        &w,
        &RunOptions {
            data_bytes_per_leaf: 1 << 30,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(row.data.mode, DataMode::Estimated);
    assert!(row.data.seconds > 0.0);
}

#[test]
fn the_compare_matrix_picks_the_customer_and_provider_roots_it_always_named() {
    // Before roles were picked by owner, compare named `ck1` and `ak`: on every
    // built-in design the first customer root and first provider root are those.
    let every = |name: &str| -> Vec<String> {
        let mut v = Vec::new();
        for role in ["ck1", "ak"] {
            for extent in ["one", "tenant", "all"] {
                v.push(format!("{name} {role} {extent}"));
            }
        }
        v
    };
    let mut want: Vec<String> = ["provision", "unwrap-all", "unwrap-all cold"]
        .map(String::from)
        .to_vec();
    want.extend(every("rotate-root"));
    want.push("rotate-root ck1 all lazy".into());
    want.extend(every("revoke"));
    want.push("shred tenant 0".into());
    want.push("purge tenant 0".into());
    want.push("new-dep tenant 0".into());
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let design = Design::by_name(name).unwrap();
        if design.roots_of(Owner::Customer).is_empty() {
            // the baseline: every customer-root workload is skipped, as a role it lacks
            let customer = spec("rotate-root:customer:all");
            assert!(matches!(
                customer.resolve(&design),
                Err(keyhier::Error::UnknownRole { .. })
            ));
            assert!(!customer.names_a_role(), "skipped by compare, not refused");
            continue;
        }
        let labels = |specs: Vec<WorkloadSpec>| -> Vec<String> {
            specs
                .iter()
                .flat_map(WorkloadSpec::expand)
                .filter(|s| {
                    // a new DEP is refused (and compare skips it) where it rolls nothing
                    !matches!(s, WorkloadSpec::NewDep { .. })
                        || !design.rolled_on_new_dep().is_empty()
                })
                .map(|s| s.resolve(&design).unwrap().label(&design))
                .collect()
        };
        let mut want = want.clone();
        if design.rolled_on_new_dep().is_empty() {
            want.retain(|w| !w.starts_with("new-dep"));
        }
        assert_eq!(labels(default_workloads()), want, "{name}");
        assert_eq!(
            labels(sweep_workloads()),
            ["rotate-root ck1 all", "revoke ak all"],
            "{name}"
        );
    }
}

#[test]
fn a_run_row_carries_the_resolved_role_by_name() {
    let mut st = state("sharepoint", Shape::preset("tiny").unwrap(), SchemeId::Kw);
    let w = spec("rotate-root:provider:tenant")
        .resolve(&st.h.design)
        .unwrap();
    let row = run(&mut st, &w, &RunOptions::default()).unwrap();
    assert_eq!(row.workload, "rotate-root ak tenant");
    assert_eq!(row.role.as_deref(), Some("ak"));
    assert_eq!(row.extent, Some(Extent::Tenant));
    assert_eq!(row.kind.to_string(), "rotate-root");
    // a workload built against another design is refused, not run on a stranger's role
    let dep = Workload::Revoke {
        role: st.h.design.role_by_name("tik").unwrap(),
        extent: Extent::All,
    };
    assert!(matches!(
        run(&mut st, &dep, &RunOptions::default()),
        Err(keyhier::Error::UnknownRole { .. })
    ));
}

#[test]
fn run_from_a_corrupted_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("keyhier-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (f, k) = (dir.join("h.khh"), dir.join("h.ring"));
    let bin = env!("CARGO_BIN_EXE_keyhier");
    let made = std::process::Command::new(bin)
        .args(["gen", "--design", "m365", "--preset", "tiny", "--out"])
        .arg(&f)
        .arg("--keyring")
        .arg(&k)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ok = std::process::Command::new(bin)
        .args(["run", "--workload", "revoke", "--role", "ak", "--from"])
        .arg(&f)
        .arg("--keyring")
        .arg(&k)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("verified: true"));
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&f, &bytes).unwrap();
    let bad = std::process::Command::new(bin)
        .args(["run", "--workload", "unwrap-all", "--from"])
        .arg(&f)
        .arg("--keyring")
        .arg(&k)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error:") && err.contains("hierarchy file"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new DEP rolls the tenant key under the customer roots (SharePoint's
/// TIK, "rolled when a new DEP is created"; the multi-workload DEP key): new
/// versions of the tenant's customer roots, the old ones retained, the tenant
/// key re-keyed and every wrap under it redone; no leaf re-keyed; refused
/// where each DEP is its own key.
#[test]
fn a_new_dep_rolls_the_tenant_key_and_nothing_where_each_dep_is_its_own() {
    for name in ["sharepoint", "sharepoint:forests=3", "multi"] {
        let design = Design::by_name(name).unwrap();
        let spec = GenSpec {
            design: design.clone(),
            shape: Shape::preset("tiny").unwrap(),
            scheme: SchemeId::Gcm,
            seed: 3,
        };
        let (h, ring) = generate(&spec, &|_| {}).unwrap();
        let t = 1;
        let range = h.tenant_node_start[t as usize]..h.tenant_node_start[t as usize + 1];
        let rolled = design.rolled_on_new_dep();
        let tenant_keys: Vec<u32> = range
            .clone()
            .filter(|&n| rolled.contains(&h.role[n as usize]))
            .collect();
        assert_eq!(tenant_keys.len(), 1, "{name}: one tenant key");
        let customer_roots = range
            .clone()
            .filter(|&n| {
                h.is_root(n)
                    && design.roles[usize::from(h.role[n as usize])].owner == Owner::Customer
            })
            .count() as u64;
        let mut st = State {
            h: h.clone(),
            ring,
            gen_seed: Some(3),
        };
        let w = WorkloadSpec::NewDep { tenant: t }.resolve(&design).unwrap();
        let row = run(&mut st, &w, &RunOptions::default()).unwrap();
        assert!(row.verification.verified, "{name}: {:?}", row.verification);
        assert!(
            row.counts_match,
            "{name}: {:?} vs {:?}",
            row.measured, row.analytic
        );
        assert_eq!(row.measured.keys_rekeyed, 1, "{name}");
        assert_eq!(row.measured.leaves_rekeyed, 0, "{name}");
        assert_eq!(row.measured.roots_replaced, customer_roots, "{name}");
        let k = tenant_keys[0] as usize;
        assert_eq!(
            st.h.version[k],
            h.version[k] + 1,
            "{name}: the tenant key rolled"
        );
        assert_eq!(
            st.ring.retained_len() as u64,
            customer_roots,
            "{name}: old DEP keys retained"
        );
        // every other tenant untouched
        for n in 0..h.nodes() {
            if !range.contains(&n) && !h.is_root(n) {
                assert_eq!(
                    st.h.version[n as usize], h.version[n as usize],
                    "{name}: node {n}"
                );
            }
        }
    }
    for name in ["m365", "flat", "dke", "threshold", "provider"] {
        let design = Design::by_name(name).unwrap();
        let e = WorkloadSpec::NewDep { tenant: 0 }
            .resolve(&design)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rolls nothing"), "{name}: {e}");
    }
}
