//! The simulator against hand-computed cases, and the placement of a real
//! workload's root operations.

use std::time::Instant;

use super::profile::{Backoff, Charge, Jitter, Quota, QuotaScope, profile_by_name};
use super::*;
use crate::crypto::scheme::SchemeId;
use crate::engine::plan::ChangePlan;
use crate::graph::design::Design;
use crate::graph::reach::Extent;
use crate::graph::shape::Shape;
use crate::graph::skeleton::skeleton;

/// One quota of `q` requests per second for every kind; a throttled request
/// waits exactly one second (no jitter), so it comes back as the window opens.
fn hand_profile(q: u64) -> ServiceProfile {
    let one = Charge { quota: 0, units: 1 };
    ServiceProfile {
        name: "hand".into(),
        about: "test".into(),
        scope: QuotaScope::Vault,
        quotas: vec![Quota {
            name: "all",
            limit: q,
            window_ms: 1000,
        }],
        charges: [one; 4],
        tenant_cap_factor: None,
        backoff: Backoff {
            base_ms: 1000,
            cap_ms: 1000,
            jitter: Jitter::None,
        },
        public_key_wraps: false,
        source: "test".into(),
    }
}

/// A built-in profile with its backoff set to one window, no jitter.
fn aligned(name: &str) -> ServiceProfile {
    let mut p = profile_by_name(name).unwrap();
    let w = p.quotas[0].window_ms;
    p.backoff = Backoff {
        base_ms: w,
        cap_ms: w,
        jitter: Jitter::None,
    };
    p
}

fn wraps(n: u64) -> VaultWork {
    VaultWork {
        group: None,
        requests: vec![(RequestKind::Wrap, n)],
    }
}

fn opts(workers: u32, latency: Latency) -> SimOptions {
    SimOptions {
        workers_per_vault: workers,
        latency,
        ..SimOptions::default()
    }
}

const NO_LATENCY: Latency = Latency::Constant { ms: 0.0 };

#[test]
fn one_vault_no_latency_takes_the_hand_computed_windows() {
    let q = 100;
    for workers in [1, 4, 32] {
        for n in [1, 99, 100, 101, 703, 1000] {
            let r = simulate(&hand_profile(q), &[wraps(n)], &opts(workers, NO_LATENCY)).unwrap();
            // the last operation goes out as window ceil(n/q) - 1 opens
            let windows = n.div_ceil(q);
            assert_eq!(
                r.seconds,
                (windows - 1) as f64,
                "{workers} workers, {n} ops"
            );
            assert_eq!(r.operations, n);
            // at the end of each window but the last, every worker that can hold
            // one of the requests left is refused once
            let active = n.min(u64::from(workers));
            let expect_retries: u64 = (0..windows - 1).map(|k| active.min(n - (k + 1) * q)).sum();
            assert_eq!(r.retries, expect_retries, "{workers} workers, {n} ops");
            // an operation refused at one boundary may be refused again at the next
            assert!(
                r.throttled >= windows - 1 && r.throttled <= r.retries,
                "{r:?}"
            );
            if workers == 1 {
                assert_eq!(r.throttled, windows - 1);
            }
            assert_eq!(r.timeline.completed.iter().sum::<u64>(), n);
            assert_eq!(r.timeline.throttled.iter().sum::<u64>(), r.retries);
        }
    }
    // Azure Key Vault, HSM RSA-2048: 2,000 per 10 s; 5,000 operations need 3 windows
    let r = simulate(
        &aligned("akv-rsa2048"),
        &[wraps(5000)],
        &opts(8, NO_LATENCY),
    )
    .unwrap();
    assert_eq!(r.seconds, 20.0);
}

#[test]
fn a_create_weighs_what_the_published_limits_say() {
    // HSM RSA-2048: 10 CREATE or 2,000 others per 10 s, enforced on the weighted sum
    let p = aligned("akv-rsa2048");
    let vault = |creates: u64, others: u64| VaultWork {
        group: None,
        requests: vec![
            (RequestKind::Create, creates),
            (RequestKind::Unwrap, others),
        ],
    };
    let secs = |v: VaultWork| simulate(&p, &[v], &opts(1, NO_LATENCY)).unwrap().seconds;
    assert_eq!(secs(vault(3, 1400)), 0.0, "3 x 200 + 1,400 = 2,000 units");
    assert_eq!(secs(vault(4, 1400)), 10.0, "4 x 200 + 1,400 = 2,200 units");
    assert_eq!(secs(vault(25, 0)), 20.0, "25 creates at 10 per window");
}

#[test]
fn workers_below_the_quota_are_latency_bound_and_never_throttled() {
    let p = hand_profile(100); // 100 per second
    let l = Latency::Constant { ms: 100.0 };
    for (workers, n) in [(1u32, 30u64), (5, 1000), (10, 1000), (10, 997)] {
        let r = simulate(&p, &[wraps(n)], &opts(workers, l)).unwrap();
        let expect = n.div_ceil(u64::from(workers)) as f64 * 0.1;
        assert!(
            (r.seconds - expect).abs() < 1e-9,
            "{workers} workers {n} ops: {} s, expected {expect} s",
            r.seconds
        );
        assert_eq!((r.throttled, r.retries), (0, 0), "{workers} workers");
    }
    // 20 workers ask for 200 per second: throttled, and no faster than the quota
    let r = simulate(&p, &[wraps(1000)], &opts(20, l)).unwrap();
    assert!(r.throttled > 0 && r.retries >= r.throttled, "{r:?}");
    assert!(r.seconds >= 9.0, "{}", r.seconds);
    assert_eq!(r.operations, 1000);
}

#[test]
fn vaults_work_in_parallel_the_slowest_decides() {
    let p = aligned("akv-rsa2048");
    let o = opts(8, NO_LATENCY);
    let loads = [5000u64, 3000, 2500];
    let alone: Vec<f64> = loads
        .iter()
        .map(|&n| simulate(&p, &[wraps(n)], &o).unwrap().seconds)
        .collect();
    assert_eq!(alone, [20.0, 10.0, 10.0]);
    let vaults: Vec<VaultWork> = loads.iter().map(|&n| wraps(n)).collect();
    let r = simulate(&p, &vaults, &o).unwrap();
    assert_eq!(
        r.seconds, 20.0,
        "the slowest vault's time, not the sum (40 s)"
    );
    assert_eq!(r.vault_seconds, alone);
    assert_eq!(r.slowest_vault, Some(0));
    assert_eq!(r.vaults, 3);
    assert_eq!(r.operations, 10_500);
}

#[test]
fn a_tenants_vaults_share_its_subscription_cap() {
    // six vaults of 2,000 each fit one window alone; one subscription allows 5 x 2,000
    let p = aligned("akv-rsa2048");
    let o = opts(4, NO_LATENCY);
    let vaults = |group: Option<u32>| -> Vec<VaultWork> {
        (0..6)
            .map(|_| VaultWork {
                group,
                requests: vec![(RequestKind::Wrap, 2000)],
            })
            .collect()
    };
    assert_eq!(simulate(&p, &vaults(None), &o).unwrap().seconds, 0.0);
    assert_eq!(simulate(&p, &vaults(Some(7)), &o).unwrap().seconds, 10.0);
    // AWS KMS has no such cap
    let aws = aligned("aws-kms");
    assert_eq!(simulate(&aws, &vaults(Some(7)), &o).unwrap().seconds, 0.0);
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let p = profile_by_name("akv-rsa2048").unwrap(); // jittered backoff
    let vaults = [wraps(9000), wraps(4000), wraps(100)];
    let run = |seed: u64| {
        let o = SimOptions {
            workers_per_vault: 16,
            latency: Latency::LogNormal {
                p50_ms: 20.0,
                p99_ms: 150.0,
            },
            seed,
            local_public_wraps: false,
        };
        simulate(&p, &vaults, &o).unwrap()
    };
    let a = run(7);
    assert_eq!(a, run(7));
    let b = run(8);
    assert_ne!(a, b);
    for r in [&a, &b] {
        assert_eq!(r.operations, 13_100);
        assert!(r.throttled > 0, "16 workers at ~50/s each exceed 200/s");
        assert!(r.seconds >= 40.0, "9,000 at 2,000 per 10 s: {}", r.seconds);
    }
}

#[test]
fn a_long_run_keeps_a_bounded_timeline() {
    // RSA-4096 HSM: 25 per second; 100,000 operations take over an hour
    let r = simulate(
        &profile_by_name("akv-rsa4096").unwrap(),
        &[wraps(100_000)],
        &opts(8, NO_LATENCY),
    )
    .unwrap();
    assert!(r.seconds > 3960.0, "{}", r.seconds);
    assert!(r.timeline.completed.len() <= 1000);
    assert!(r.timeline.completed.len() as f64 * r.timeline.window_s >= r.seconds);
    assert_eq!(r.timeline.completed.iter().sum::<u64>(), 100_000);
    // windows of the quota's 10 s times 1, 2 or 5 times a power of ten
    assert!(r.timeline.window_s >= 10.0);
    let m = r.timeline.window_s / 10f64.powf(r.timeline.window_s.log10().floor());
    assert!(
        [1.0, 2.0, 5.0].iter().any(|x| (m - x).abs() < 1e-9),
        "{}",
        r.timeline.window_s
    );
}

/// 300,000 operations with a latency on every request, one event each: the
/// time is printed (`cargo test -- --nocapture`), never asserted.
#[test]
fn three_hundred_thousand_operations_with_latency() {
    let p = profile_by_name("aws-kms").unwrap();
    let vaults: Vec<VaultWork> = (0..200).map(|_| wraps(1500)).collect();
    let o = SimOptions {
        workers_per_vault: 8,
        latency: Latency::LogNormal {
            p50_ms: 15.0,
            p99_ms: 120.0,
        },
        ..SimOptions::default()
    };
    let start = Instant::now();
    let r = simulate(&p, &vaults, &o).unwrap();
    let took = start.elapsed();
    assert_eq!(r.operations, 300_000);
    assert_eq!(r.timeline.completed.iter().sum::<u64>(), 300_000);
    println!(
        "simulated 300,000 operations ({} vaults, 8 workers each, {:.0} simulated s) in {:.1} ms",
        r.vaults,
        r.seconds,
        took.as_secs_f64() * 1e3
    );
}

#[test]
fn bad_knobs_are_refused() {
    let p = hand_profile(10);
    let v = [wraps(5)];
    assert!(simulate(&p, &v, &opts(0, NO_LATENCY)).is_err());
    assert!(simulate(&p, &v, &opts(1, Latency::Constant { ms: -1.0 })).is_err());
    let l = Latency::LogNormal {
        p50_ms: 50.0,
        p99_ms: 10.0,
    };
    assert!(simulate(&p, &v, &opts(1, l)).is_err());
    for bad in ["", "x", "-3", "5,1", "1,2,3", "nan", "1e9"] {
        assert!(Latency::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Latency::parse("20").unwrap(),
        Latency::Constant { ms: 20.0 }
    );
    assert_eq!(
        Latency::parse("15, 120").unwrap(),
        Latency::LogNormal {
            p50_ms: 15.0,
            p99_ms: 120.0
        }
    );
    let mut broken = hand_profile(10);
    broken.charges[0].quota = 3;
    assert!(simulate(&broken, &v, &opts(1, NO_LATENCY)).is_err());
}

#[test]
fn a_log_normal_latency_has_its_median_and_99th_percentile() {
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;
    let l = Latency::LogNormal {
        p50_ms: 20.0,
        p99_ms: 100.0,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut v: Vec<u64> = (0..20_000).map(|_| l.draw(&mut rng)).collect();
    v.sort_unstable();
    let at = |q: f64| v[(q * v.len() as f64) as usize] as f64 / 1e6;
    assert!((at(0.5) - 20.0).abs() < 1.0, "p50 {}", at(0.5));
    assert!((at(0.99) - 100.0).abs() < 10.0, "p99 {}", at(0.99));
}

/// The m365 rotation with one vault per tenant takes the slowest tenant's
/// time, not the sum; with every tenant in one vault, the sum's.
#[test]
fn an_m365_rotation_takes_the_slowest_tenants_time() {
    let d = Design::m365();
    let h = skeleton(&d, &Shape::preset("tiny").unwrap(), SchemeId::Kw, 5).unwrap();
    let ck1 = d.role_by_name("ck1").unwrap();
    let loads = plan_loads(&ChangePlan::rotate(&h, ck1, Extent::All), &h);
    let q = 2;
    let p = hand_profile(q);
    let o = opts(4, NO_LATENCY);
    let per_tenant = service_cost(
        &h,
        &loads,
        std::slice::from_ref(&p),
        Placement::default(),
        &o,
    )
    .unwrap();
    let s = split(&h, &loads, Placement::default(), false).unwrap();
    let windows: Vec<u64> = s.vaults.iter().map(|v| v.total().div_ceil(q) - 1).collect();
    assert_eq!(s.vaults.len(), h.tenants() as usize);
    let slowest = *windows.iter().max().unwrap() as f64;
    let sum: u64 = s.vaults.iter().map(VaultWork::total).sum();
    assert_eq!(per_tenant.profiles[0].seconds, slowest);
    assert!(slowest < (sum.div_ceil(q) - 1) as f64);
    let shared = service_cost(&h, &loads, &[p], Placement::Shared { vaults: 1 }, &o).unwrap();
    assert_eq!(shared.profiles[0].seconds, (sum.div_ceil(q) - 1) as f64);
    assert_eq!(per_tenant.customer_root_ops, sum);
    assert_eq!(per_tenant.provider_root_ops, 0);
    assert_eq!(per_tenant.seconds()[0], ("hand".to_string(), slowest));
}
