//! Roots in a SoftHSM2 token, end to end: a token made by `keyhier token
//! init` in a temporary folder; every catalogue design generated on `tiny`
//! with its roots in the token, then revoked and rotated, verified, with the
//! token's operations equal to the model's root operations; the typed errors
//! (wrong PIN, missing label, missing module); and a root's value unreadable.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when its module is initialized, and
//! the variable is process-global: so this file has its own `main`
//! (`harness = false`) that makes the token, then runs itself again with the
//! variable set, and the checks run one after the other in that process.
//! Without libsofthsm2 it prints why and passes, unless
//! `KEYHIER_REQUIRE_SOFTHSM=1` (CI), where it fails.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;

use keyhier::internal::engine::audit::audit;
use keyhier::internal::graph::design::{DESIGN_NAMES, Design};
use keyhier::internal::graph::reach::Extent;
use keyhier::internal::graph::shape::PRESETS;
use keyhier::internal::store::pkcs11::SOFTHSM2_MODULE;
use keyhier::{
    Error, GenSpec, Pkcs11Roots, RootBackend, RunOptions, SchemeId, State, Workload, generate_in,
    run,
};

const LABEL: &str = "keyhier-test";
const PIN: &str = "4321";
const CHILD: &str = "KEYHIER_PKCS11_TEST_CHILD";

fn main() -> ExitCode {
    let module = Path::new(SOFTHSM2_MODULE);
    if !module.exists() {
        let why = format!("{SOFTHSM2_MODULE} is absent (apt-get install softhsm2)");
        if std::env::var("KEYHIER_REQUIRE_SOFTHSM").as_deref() == Ok("1") {
            eprintln!("pkcs11: FAILED: {why}, and KEYHIER_REQUIRE_SOFTHSM=1");
            return ExitCode::FAILURE;
        }
        println!("pkcs11: skipped: {why}");
        println!("pkcs11: 0 passed, 0 failed, 1 skipped");
        return ExitCode::SUCCESS;
    }
    if std::env::var_os(CHILD).is_some() {
        return checks(module);
    }
    let dir = tempdir();
    let init = Command::new(env!("CARGO_BIN_EXE_keyhier"))
        .args(["token", "init", "--label", LABEL, "--dir"])
        .arg(&dir)
        .env("KEYHIER_PKCS11_PIN", PIN)
        .env_remove("KEYHIER_PKCS11_SO_PIN")
        .env_remove("SOFTHSM2_CONF")
        .output()
        .expect("keyhier token init");
    assert!(
        init.status.success(),
        "token init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    // An unset PIN is refused before anything is written.
    let refused = Command::new(env!("CARGO_BIN_EXE_keyhier"))
        .args(["token", "init", "--label", "x", "--dir"])
        .arg(dir.join("unset"))
        .env_remove("KEYHIER_PKCS11_PIN")
        .output()
        .expect("keyhier token init");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("KEYHIER_PKCS11_PIN is not set"));
    assert!(!dir.join("unset").exists());
    let status = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .env("KEYHIER_PKCS11_PIN", PIN)
        .status()
        .expect("run the checks");
    let _ = std::fs::remove_dir_all(&dir);
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("keyhier-pkcs11-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// One check against the token's module.
type Check = (&'static str, fn(&Path));

fn checks(module: &Path) -> ExitCode {
    let checks: [Check; 5] = [
        ("errors_are_typed", errors_are_typed),
        (
            "a_root_s_value_cannot_be_read",
            a_root_s_value_cannot_be_read,
        ),
        (
            "every_design_generates_revokes_and_rotates_with_its_roots_in_the_token",
            every_design,
        ),
        ("the_token_holds_no_root_after_a_run", no_root_left),
        ("rsa_oaep_wraps_round_trip_in_the_token", rsa_oaep),
    ];
    let mut failed = 0;
    for (name, f) in checks {
        let ok = std::panic::catch_unwind(|| f(module)).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    println!("pkcs11: {} passed, {failed} failed", checks.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn open(module: &Path) -> Arc<dyn RootBackend> {
    Arc::new(Pkcs11Roots::open(module, LABEL, &PIN.to_string().into()).expect("open the token"))
}

fn errors_are_typed(module: &Path) {
    let wrong = Pkcs11Roots::open(module, LABEL, &"0000".to_string().into());
    assert!(matches!(wrong, Err(Error::TokenPin)), "{wrong:?}");
    let missing = Pkcs11Roots::open(module, "no-such-token", &PIN.to_string().into());
    match missing {
        Err(Error::TokenNotFound { label, found }) => {
            assert_eq!(label, "no-such-token");
            assert_eq!(found, vec![LABEL.to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let absent = Pkcs11Roots::open(
        Path::new("/no/such/module.so"),
        LABEL,
        &PIN.to_string().into(),
    );
    assert!(
        matches!(absent, Err(Error::TokenModule { .. })),
        "{absent:?}"
    );
    // a hierarchy under a token must be kwp
    let spec = GenSpec {
        design: Design::by_name("m365").unwrap(),
        shape: PRESETS[0].shape,
        scheme: SchemeId::Gcm,
        seed: 1,
    };
    let e = generate_in(&spec, Some(open(module)), &|_| {})
        .err()
        .unwrap();
    assert!(e.to_string().contains("kwp"), "{e}");
}

/// RSA-OAEP (Azure Key Vault's customer keys are RSA): `rsa_oaep_rates`
/// checks one round trip itself and fails when it differs.
fn rsa_oaep(module: &Path) {
    let t = Pkcs11Roots::open(module, LABEL, &PIN.to_string().into()).unwrap();
    let r = t.rsa_oaep_rates(20).unwrap();
    assert_eq!(r.n, 20);
    assert!(
        r.mechanism.starts_with("CKM_RSA_PKCS_OAEP, RSA-2048"),
        "{}",
        r.mechanism
    );
    assert!(r.wrap_per_s > 0.0 && r.unwrap_per_s > 0.0);
    assert!(r.unwrap_p99_us >= r.unwrap_p50_us);
}

fn a_root_s_value_cannot_be_read(module: &Path) {
    let t = Pkcs11Roots::open(module, LABEL, &PIN.to_string().into()).unwrap();
    let h = t.create(7, 1).unwrap();
    assert!(
        t.try_read_root(h).is_err(),
        "CKA_VALUE of a root was readable"
    );
    // and the root works: a child wraps to a kwp record and back
    let mut w = [0u8; 64];
    let len = t.wrap(h, &[9; 32], &mut w).unwrap();
    assert_eq!(len, 40);
    let mut out = [0u8; 64];
    assert_eq!(t.unwrap(h, &w[..len], &mut out).unwrap(), 32);
    assert_eq!(out[..32], [9; 32]);
    w[3] ^= 1;
    assert!(matches!(
        t.unwrap(h, &w[..len], &mut out),
        Err(Error::UnwrapFailed)
    ));
    assert_eq!(out, [0; 64], "a failed unwrap leaves nothing");
    assert!(t.destroy(h).unwrap());
    assert!(matches!(
        t.unwrap(h, &w[..len], &mut out),
        Err(Error::UnwrapFailed)
    ));
}

fn every_design(module: &Path) {
    let b = open(module);
    for name in DESIGN_NAMES {
        let design = Design::by_name(name).unwrap();
        let spec = GenSpec {
            design: design.clone(),
            shape: PRESETS[0].shape,
            scheme: SchemeId::Kwp,
            seed: 3,
        };
        let (h, ring) = generate_in(&spec, Some(b.clone()), &|_| {}).unwrap();
        assert!(ring.backend().is_some());
        let a = audit(&h, &ring);
        assert!(a.ok(), "{name}: {}", a.summary());
        let role = design.root_roles()[0];
        for w in [
            Workload::Revoke {
                role,
                extent: Extent::All,
            },
            Workload::RotateRoot {
                role,
                extent: Extent::All,
                lazy: false,
            },
        ] {
            let mut st = State {
                h: h.clone(),
                ring: ring.clone(),
                gen_seed: Some(3),
            };
            let opts = RunOptions {
                seed: 3,
                reference: false,
                ..RunOptions::default()
            };
            let row = run(&mut st, &w, &opts).unwrap();
            let label = format!("{name} {}", row.workload);
            assert!(row.verification.verified, "{label}: {:?}", row.verification);
            assert!(row.counts_match, "{label}");
            let rb = row.root_backend.as_ref().expect("root_backend");
            assert_eq!(rb.ops, row.measured.root_ops, "{label}: token ops = model");
            assert!(rb.ops > 0 && rb.p50_us > 0.0, "{label}");
        }
    }
}

fn no_root_left(module: &Path) {
    // Every state above is dropped: its roots were destroyed in the token
    // (each HeldRoot's last reference), and so were the ones a revocation
    // replaced. A new state's roots are the only ones then.
    let b = open(module);
    let spec = GenSpec {
        design: Design::by_name("m365").unwrap(),
        shape: PRESETS[0].shape,
        scheme: SchemeId::Kwp,
        seed: 1,
    };
    let (h, ring) = generate_in(&spec, Some(b.clone()), &|_| {}).unwrap();
    let m = b.meter().read();
    let roots = (0..h.nodes()).filter(|&n| h.is_root(n)).count() as u64;
    assert_eq!(
        m.count(keyhier::internal::crypto::root::RootOp::Create),
        roots
    );
    drop(ring);
    let m = b.meter().read();
    assert_eq!(
        m.count(keyhier::internal::crypto::root::RootOp::Destroy),
        roots,
        "dropping the ring destroys its roots in the token"
    );
}
