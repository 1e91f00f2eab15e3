//! Every design × workload on the `small` preset, at 1 and 2 threads.
//!
//! Each iteration runs one workload on a fresh copy of the generated
//! hierarchy (the copy is made in `iter_batched`'s setup, outside the timing),
//! with verification and the side-by-side `aes-kw` loop off: what is timed is
//! the workload alone. Throughput is in the workload's items (wraps written,
//! leaves recovered, roots destroyed). Rotation is of each design's first
//! customer root, revocation of its first provider root.
//!
//! `cargo bench --bench workloads`; filter with e.g. `-- m365/revoke`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keyhier::{
    DESIGN_NAMES, Design, GenSpec, Owner, RolePick, RunOptions, SchemeId, Shape, State,
    WorkloadSpec, generate, run,
};

/// The workloads, as typed at the command line.
fn workloads() -> Vec<WorkloadSpec> {
    let rotate = WorkloadSpec::RotateRoot {
        role: Some(RolePick::FirstOf(Owner::Customer)),
        extent: Some(keyhier::Extent::All),
        lazy: false,
    };
    let revoke = WorkloadSpec::Revoke {
        role: Some(RolePick::FirstOf(Owner::Provider)),
        extent: Some(keyhier::Extent::All),
    };
    vec![
        WorkloadSpec::Provision,
        WorkloadSpec::UnwrapAll { cold: false },
        WorkloadSpec::UnwrapAll { cold: true },
        rotate,
        revoke,
        WorkloadSpec::Shred { tenant: 0 },
    ]
}

fn bench(c: &mut Criterion) {
    // verification off, and no side-by-side `aes-kw` loop after each run
    // (criterion times the whole call)
    let opts = RunOptions {
        verify: false,
        reference: false,
        ..RunOptions::default()
    };
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        for name in DESIGN_NAMES {
            let design = Design::by_name(name).expect("built-in design");
            let spec = GenSpec {
                design: design.clone(),
                shape: Shape::preset("small").expect("preset"),
                scheme: SchemeId::Kw,
                seed: 1,
            };
            let (h, ring) = pool.install(|| generate(&spec, &|_| {})).expect("generate");
            let mut group = c.benchmark_group(format!("{name}/t{threads}"));
            group.sample_size(10);
            for ws in workloads() {
                // the baseline design has no customer root: nothing to rotate
                let Ok(w) = ws.resolve(&design) else { continue };
                // one run to learn the item count
                let mut st = State {
                    h: h.clone(),
                    ring: ring.clone(),
                    gen_seed: Some(1),
                };
                let items = pool
                    .install(|| run(&mut st, &w, &opts))
                    .expect("workload")
                    .items;
                group.throughput(Throughput::Elements(items.max(1)));
                group.bench_function(w.label(&design), |b| {
                    b.iter_batched(
                        || State {
                            h: h.clone(),
                            ring: ring.clone(),
                            gen_seed: Some(1),
                        },
                        |mut st| pool.install(|| run(&mut st, &w, &opts)).expect("workload"),
                        BatchSize::LargeInput,
                    )
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
