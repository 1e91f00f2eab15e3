//! Root operations through each backend: one wrap and one unwrap of a
//! 32-byte child under one root, in process (`SoftRoots`, through the same
//! trait) and, when a token is configured, in a PKCS#11 token
//! (`C_WrapKey` / `C_UnwrapKey` with `CKM_AES_KEY_WRAP_PAD`; an unwrap also
//! reads the child's value out of its session object).
//!
//! The token is used when `SOFTHSM2_CONF` (for SoftHSM2), `KEYHIER_PKCS11_PIN`
//! and `KEYHIER_PKCS11_TOKEN` (its label) are set; `KEYHIER_PKCS11_MODULE`
//! overrides the module. Otherwise only the in-process backend runs.
//!
//! `cargo bench --bench roots`

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyhier::internal::store::pkcs11::{SOFTHSM2_MODULE, pin_from_env};
use keyhier::{Pkcs11Roots, RootBackend, SoftRoots};

fn backends() -> Vec<(&'static str, Arc<dyn RootBackend>)> {
    let mut out: Vec<(&'static str, Arc<dyn RootBackend>)> =
        vec![("soft", Arc::new(SoftRoots::default()))];
    let module = std::env::var_os("KEYHIER_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SOFTHSM2_MODULE));
    match (std::env::var("KEYHIER_PKCS11_TOKEN"), pin_from_env()) {
        (Ok(label), Ok(pin)) => match Pkcs11Roots::open(&module, &label, &pin) {
            Ok(t) => out.push(("pkcs11", Arc::new(t))),
            Err(e) => eprintln!("roots bench: no token ({e})"),
        },
        _ => eprintln!(
            "roots bench: no token (set SOFTHSM2_CONF, KEYHIER_PKCS11_PIN and KEYHIER_PKCS11_TOKEN)"
        ),
    }
    out
}

fn roots(c: &mut Criterion) {
    let mut g = c.benchmark_group("root");
    g.throughput(Throughput::Elements(1));
    for (name, b) in backends() {
        let root = b.create(1, 1).expect("create a root");
        let child = [0x5a; 32];
        g.bench_function(format!("{name}/wrap"), |bench| {
            let mut out = [0u8; 64];
            bench.iter(|| b.wrap(root, &child, &mut out).expect("wrap"))
        });
        let mut w = [0u8; 64];
        let len = b.wrap(root, &child, &mut w).expect("wrap");
        g.bench_function(format!("{name}/unwrap"), |bench| {
            let mut out = [0u8; 64];
            bench.iter(|| b.unwrap(root, &w[..len], &mut out).expect("unwrap"))
        });
        b.destroy(root).expect("destroy the root");
    }
    g.finish();
}

criterion_group!(benches, roots);
criterion_main!(benches);
