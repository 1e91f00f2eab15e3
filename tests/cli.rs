//! The `keyhier` binary as a user meets it: hostile paths, flags that do not
//! apply, absurd sizes and corrupt stored hierarchies each give a clear error
//! (or a correct result) and never destroy a file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyhier::SchemeId;
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::store::hfile;

fn keyhier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyhier"))
        .args(args)
        .output()
        .expect("runs the binary")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs and expects failure with a message containing every one of `want`.
fn fails(args: &[&str], want: &[&str]) -> String {
    let o = keyhier(args);
    let t = text(&o);
    assert!(!o.status.success(), "{args:?} succeeded:\n{t}");
    for w in want {
        assert!(t.contains(w), "{args:?}: no {w:?} in:\n{t}");
    }
    assert!(!t.contains("panicked"), "{args:?} panicked:\n{t}");
    t
}

fn ok(args: &[&str]) -> String {
    let o = keyhier(args);
    let t = text(&o);
    assert!(o.status.success(), "{args:?} failed:\n{t}");
    t
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keyhier-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn gen_refuses_devices_symlinks_and_one_file_for_two_outputs() {
    let d = scratch("gen-out");
    fails(
        &["gen", "--preset", "tiny", "--out", "/dev/full"],
        &["not a regular file"],
    );
    assert!(
        std::fs::symlink_metadata("/dev/full")
            .map(|m| !m.is_file())
            .unwrap_or(true),
        "/dev/full is still a device"
    );
    let target = d.join("target");
    std::fs::write(&target, b"keep").unwrap();
    let link = d.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    fails(
        &["gen", "--preset", "tiny", "--out", s(&link)],
        &["symbolic link"],
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    let same = d.join("same.bin");
    fails(
        &[
            "gen",
            "--preset",
            "tiny",
            "--out",
            s(&same),
            "--keyring",
            s(&same),
        ],
        &["name the same file"],
    );
    assert!(!same.exists(), "nothing written");
    // A keyring path that is a folder fails before the hierarchy is written.
    let h = d.join("z.khh");
    fails(
        &[
            "gen",
            "--preset",
            "tiny",
            "--out",
            s(&h),
            "--keyring",
            s(&d),
        ],
        &["folder"],
    );
    assert!(!h.exists(), "no hierarchy without its keys");
}

#[test]
fn absurd_sizes_are_refused_with_an_estimate() {
    fails(
        &[
            "gen",
            "--design",
            "flat",
            "--tenants",
            "10000000",
            "--groups-per-tenant",
            "1000",
            "--leaves-per-group",
            "1",
        ],
        &["at most"],
    );
    fails(
        &["gen", "--preset", "tiny", "--design", "tree:1024,1024,64"],
        &["needs about", "available"],
    );
}

/// A stored m365 hierarchy and its keyring, with every slot under `corrupt_under` flipped.
fn stored(d: &Path, corrupt_under: Option<&str>) -> (PathBuf, PathBuf) {
    let h = d.join("h.khh");
    let k = d.join("h.ring");
    ok(&[
        "gen",
        "--design",
        "m365",
        "--preset",
        "tiny",
        "--out",
        s(&h),
        "--keyring",
        s(&k),
    ]);
    if let Some(role) = corrupt_under {
        let mut hier: Hierarchy = hfile::read_file(&h).unwrap();
        assert_eq!(hier.scheme, SchemeId::Kw);
        let mut hit = 0;
        for n in 0..hier.nodes() {
            for sl in hier.slots_of(n) {
                let keks = hier.slot_keks(sl).to_vec();
                if keks
                    .iter()
                    .any(|&kk| hier.design.roles[usize::from(hier.role[kk as usize])].name == role)
                {
                    let at = sl as usize * hier.stride + 5;
                    hier.payload[at] ^= 0x01;
                    hit += 1;
                }
            }
        }
        assert!(hit > 0);
        hfile::write_file(&hier, &h).unwrap();
    }
    (h, k)
}

#[test]
fn verify_passes_a_clean_store_and_names_corrupt_ak_slots() {
    let d = scratch("verify");
    let (h, k) = stored(&d, None);
    let out = ok(&["verify", "--from", s(&h), "--keyring", s(&k)]);
    assert!(out.contains("verified: true"), "{out}");
    let d2 = scratch("verify-bad");
    let (h, k) = stored(&d2, Some("ak"));
    let out = fails(
        &["verify", "--from", s(&h), "--keyring", s(&k)],
        &["verified: false", "ak"],
    );
    assert!(out.contains("dep"), "names the role: {out}");
    // unwrap-all --from says the same.
    let out = fails(
        &[
            "run",
            "--from",
            s(&h),
            "--keyring",
            s(&k),
            "--workload",
            "unwrap-all",
            "--json",
        ],
        &[],
    );
    assert!(
        out.contains("\"verified\": false") || out.contains("verified: false"),
        "{out}"
    );
}

#[test]
fn a_keyring_of_another_seed_is_named() {
    let d = scratch("seed");
    let (h, _) = stored(&d, None);
    let other = d.join("other.ring");
    let o2 = d.join("other.khh");
    ok(&[
        "gen",
        "--design",
        "m365",
        "--preset",
        "tiny",
        "--seed",
        "9",
        "--out",
        s(&o2),
        "--keyring",
        s(&other),
    ]);
    fails(
        &["verify", "--from", s(&h), "--keyring", s(&other)],
        &["does not belong"],
    );
}

#[test]
fn vectors_fails_when_it_ran_no_case() {
    let d = scratch("vectors");
    fails(&["vectors", s(&d)], &[]);
    std::fs::write(d.join("junk.txt"), b"not a vector file").unwrap();
    fails(&["vectors", s(&d)], &[]);
}

#[test]
fn compare_never_overwrites_a_results_folder_without_force() {
    let d = scratch("compare");
    let out = d.join("run");
    let args = |force: bool| {
        let mut v = vec![
            "compare",
            "--preset",
            "tiny",
            "--designs",
            "m365",
            "--workloads",
            "provision",
            "--out",
            s(&out),
        ];
        if force {
            v.push("--force");
        }
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |force: bool| keyhier(&args(force).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(false).status.success());
    std::fs::write(out.join("stale.csv"), b"old").unwrap();
    let o = run(false);
    assert!(!o.status.success());
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert!(out.join("stale.csv").exists(), "untouched without --force");
    assert!(run(true).status.success());
    assert!(
        !out.join("stale.csv").exists(),
        "replaced whole with --force"
    );
    assert!(out.join("summary.md").exists());
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "no staging folder left: {left:?}");
}

#[test]
fn flags_that_do_not_apply_are_refused_and_say_why() {
    for (args, want) in [
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "revoke",
                "--role",
                "ck1",
                "--tenant",
                "3",
            ][..],
            "--tenant does not apply",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "unwrap-all",
                "--role",
                "ck1",
            ][..],
            "--role does not apply",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "revoke",
                "--role",
                "ck1",
                "--lazy",
            ][..],
            "--lazy does not apply",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "rotate-root",
                "--role",
                "ck1",
                "--cold",
            ][..],
            "--cold does not apply",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "unwrap-all",
                "--keyring",
                "x.ring",
            ][..],
            "--from",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "unwrap-all",
                "--data-bytes-per-leaf",
                "10",
            ][..],
            "does not apply",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "rotate-root",
                "--role",
                "ck1",
                "--root-ops-per-s",
                "0",
            ][..],
            "not a rate",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "rotate-root",
                "--role",
                "ck1",
                "--root-ops-per-s",
                "nan",
            ][..],
            "not a rate",
        ),
        (
            &[
                "run",
                "--preset",
                "tiny",
                "--workload",
                "rotate-root",
                "--role",
                "ck1",
                "--root-ops-per-s",
                "inf",
            ][..],
            "not a rate",
        ),
        (
            &[
                "compare",
                "--preset",
                "tiny",
                "--designs",
                "dke",
                "m365",
                "--workloads",
                "revoke:ck2:all",
                "--out",
                "/tmp/keyhier-cli-never",
            ][..],
            "cannot run on design dke",
        ),
        (
            &[
                "compare",
                "--preset",
                "tiny",
                "--workloads",
                "shred:3",
                "--out",
                "/tmp/keyhier-cli-never",
            ][..],
            "shred",
        ),
    ] {
        fails(args, &[want]);
    }
    assert!(!Path::new("/tmp/keyhier-cli-never").exists());
}

#[test]
fn from_refuses_shape_flags_and_huge_data_sizes_do_not_abort() {
    let d = scratch("from-flags");
    let (h, k) = stored(&d, None);
    fails(
        &[
            "run",
            "--from",
            s(&h),
            "--keyring",
            s(&k),
            "--workload",
            "unwrap-all",
            "--preset",
            "large",
        ],
        &["cannot be used with"],
    );
    for bytes in ["18446744073709551615", "10000000000"] {
        let out = ok(&[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "revoke",
            "--role",
            "ck1",
            "--data-bytes-per-leaf",
            bytes,
            "--json",
        ]);
        assert!(out.contains("\"estimated\""), "{out}");
    }
    // One spelling works for both commands.
    ok(&["blast", "--preset", "tiny", "--designs", "m365"]);
    ok(&["blast", "--preset", "tiny", "--design", "m365"]);
}

fn json_of(args: &[&str]) -> (serde_json::Value, bool) {
    let o = keyhier(args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", text(&o)));
    (v, o.status.success())
}

/// The checks: histories against the attacker who keeps everything,
/// and the insufficient remedy failing `run`'s verification.
#[test]
fn history_and_remedies_as_a_user_runs_them() {
    let last_current = |v: &serde_json::Value| {
        let steps = v["steps"].as_array().expect("steps");
        steps.last().unwrap()["exposed_current_leaves"]
            .as_u64()
            .unwrap()
    };
    for (design, events) in [
        ("threshold", ["leak ck1", "revoke ck1", "leak ck2"]),
        ("dke", ["leak ak", "revoke ak", "leak ck1"]),
    ] {
        let mut args = vec!["history", "--design", design, "--preset", "tiny", "--json"];
        args.extend(events);
        let (v, good) = json_of(&args);
        assert!(good, "{design}");
        assert_eq!(last_current(&v), 0, "{design}: {v}");
        assert!(v["steps"][0]["exposed_ever_leaves"].is_u64());
        args.extend(["--remedy", "reshare-only"]);
        let (v, good) = json_of(&args);
        assert!(!good, "{design}: an insufficient remedy fails verification");
        assert_eq!(last_current(&v), v["leaves"].as_u64().unwrap(), "{design}");
    }
    let run = |remedy: Option<&str>| {
        let mut a = vec![
            "run",
            "--design",
            "threshold",
            "--workload",
            "revoke",
            "--role",
            "ak",
            "--preset",
            "tiny",
            "--json",
        ];
        if let Some(r) = remedy {
            a.extend(["--remedy", r]);
        }
        json_of(&a)
    };
    let (v, good) = run(Some("reshare-only"));
    assert!(!good);
    assert_eq!(v["verification"]["verified"], false);
    assert_eq!(v["verification"]["one_more"]["holds"], false);
    let (v, good) = run(None);
    assert!(good);
    assert_eq!(v["verification"]["verified"], true);
    assert_eq!(v["remedies"].as_array().unwrap().len(), 4);
    // m365: two leaks expose what the analysis promises (any one root opens its DEP)
    let (v, _) = json_of(&[
        "history",
        "--design",
        "m365",
        "--preset",
        "tiny",
        "--json",
        "leak ck1:one",
        "leak ak:one",
    ]);
    assert!(last_current(&v) > 0);
    fails(
        &["history", "--design", "dke", "--preset", "tiny", "leak ck2"],
        &["ck2"],
    );
    fails(
        &["history", "--preset", "tiny", "explode ck1"],
        &["unknown event"],
    );
    fails(
        &[
            "run",
            "--workload",
            "rotate-root",
            "--role",
            "ck1",
            "--remedy",
            "rekey",
            "--preset",
            "tiny",
        ],
        &["--remedy does not apply"],
    );
}

/// Tick and legend texts of an SVG written by plotters (`<text ...>T</text>`).
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0))
        .map(|t| {
            t.trim()
                .replace("&apos;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// A number in scientific notation, as `1e4` or `2e-3`.
fn scientific(t: &str) -> bool {
    let b = t.as_bytes();
    b.windows(2).enumerate().any(|(i, w)| {
        w[0].is_ascii_digit()
            && w[1] == b'e'
            && b.get(i + 2)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'-')
    })
}

#[test]
fn compare_plots_label_their_axes_in_human_units_and_name_the_profiles_rates() {
    let d = scratch("plots");
    let out = d.join("run");
    let o = keyhier(&[
        "compare",
        "--preset",
        "tiny",
        "--designs",
        "m365",
        "flat",
        "--workloads",
        "provision",
        "unwrap-all",
        "rotate-root",
        "revoke",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // stderr is a pipe here: no progress drawn into it
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (plot, want) in [
        (
            "cost-root-ops.svg",
            &["design", "root operations (log scale)"][..],
        ),
        (
            "cost-root-time.svg",
            &[
                "design",
                "time (log scale)",
                "Azure Key Vault, HSM-protected RSA 2,048-bit (200 unwraps/s per vault)",
                "AWS KMS, symmetric keys (10,000 unwraps/s per account)",
            ][..],
        ),
        ("measured-wall.svg", &["design", "time (log scale)"][..]),
    ] {
        let svg = std::fs::read_to_string(out.join(plot)).unwrap();
        let texts = svg_texts(&svg);
        // (a legend line may wrap: its words in order, across lines)
        let all = texts.join(" ");
        for w in want {
            assert!(all.contains(w), "{plot}: no {w:?} in {texts:?}");
        }
        assert!(!texts.iter().any(|t| scientific(t)), "{plot}: {texts:?}");
    }
    // a time axis says its unit on every tick
    let wall = svg_texts(&std::fs::read_to_string(out.join("measured-wall.svg")).unwrap());
    let units = ["ns", "µs", "ms", "s", "min", "h", "day", "days"];
    let ticks: Vec<&String> = wall
        .iter()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(!ticks.is_empty(), "{wall:?}");
    for t in ticks {
        assert!(
            t.rsplit(' ').next().is_some_and(|u| units.contains(&u)),
            "tick {t:?} has no unit"
        );
    }
    // no peak memory that depends on the rows before it
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(!summary.contains("peak MiB"), "{summary}");
    let raw = std::fs::read_to_string(out.join("raw.csv")).unwrap();
    assert!(!raw.lines().next().unwrap().contains("peak_rss"), "{raw}");
}

#[test]
fn progress_is_not_drawn_when_stderr_is_not_a_terminal_json_or_not() {
    let d = scratch("progress");
    for args in [
        &["gen", "--preset", "tiny"][..],
        &["gen", "--preset", "tiny", "--json"][..],
        &["blast", "--preset", "tiny", "--designs", "m365"][..],
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "unwrap-all",
            "--json",
        ][..],
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "revoke",
            "--role",
            "ak",
        ][..],
    ] {
        let o = keyhier(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            o.stderr.is_empty(),
            "{args:?} wrote to a piped stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let (h, k) = (d.join("h.khh"), d.join("h.ring"));
    ok(&[
        "gen",
        "--preset",
        "tiny",
        "--out",
        s(&h),
        "--keyring",
        s(&k),
    ]);
    let o = keyhier(&["verify", "--from", s(&h), "--keyring", s(&k)]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", text(&o));
}

#[test]
fn run_says_what_its_aes_kw_ratio_compares() {
    // m365: one DEP or a few under each tenant's root, so the loop rebuilds
    // its KEKs as often, and the run says that nothing can be batched
    let out = ok(&[
        "run",
        "--design",
        "m365",
        "--workload",
        "rotate-root",
        "--role",
        "ck1",
        "--preset",
        "tiny",
    ]);
    for want in [
        "building its two KEKs anew every",
        "counting its whole wall",
        "little or nothing to batch",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
    let json = ok(&[
        "run",
        "--design",
        "m365",
        "--workload",
        "rotate-root",
        "--role",
        "ck1",
        "--preset",
        "tiny",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keks = v["reference"]["keks"].as_u64().expect("keks of a rewrap");
    assert_eq!(keks, v["measured"]["roots_replaced"].as_u64().unwrap());
    // unwrap-all keeps its one KEK
    let json = ok(&[
        "run",
        "--preset",
        "tiny",
        "--workload",
        "unwrap-all",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["reference"]["keks"].is_null(), "{json}");
}

#[test]
fn perf_records_what_each_backend_ran_on() {
    let d = scratch("perf");
    let out = d.join("p");
    ok(&[
        "perf",
        "--rounds",
        "1",
        "--preset",
        "none",
        "--out",
        s(&out),
    ]);
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("env.json")).unwrap()).unwrap();
    let on = env["run"]["fastkw_instructions"]["portable"]
        .as_str()
        .expect("the portable backend's instructions");
    assert!(on.starts_with("the aes crate's"), "{on}");
    let svg = std::fs::read_to_string(out.join("batch-size.svg")).unwrap();
    // (a legend line may wrap: its words in order, across lines)
    let legend = svg_texts(&svg).join(" ");
    assert!(
        legend.contains(&format!("fastkw portable ({on})")),
        "the legend names it: {legend}"
    );
}

#[test]
fn simulate_is_deterministic_teaches_its_profiles_and_refuses_bad_knobs() {
    let help = ok(&["simulate", "--help"]);
    for w in [
        "akv-rsa2048",
        "2000 other transactions per 10 s",
        "aws-kms",
        "gcp-kms",
    ] {
        assert!(help.contains(w), "no {w:?} in --help");
    }
    let args = [
        "simulate",
        "--design",
        "m365",
        "--workload",
        "revoke",
        "--role",
        "ak",
        "--preset",
        "tiny",
        "--profile",
        "akv-rsa4096",
        "--latency-ms",
        "20,90",
        "--json",
    ];
    let a = ok(&args);
    assert_eq!(a, ok(&args), "same seed, same bytes");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(v["provider_root_ops"].as_u64().unwrap() > 0);
    assert!(v["customer_root_ops"].as_u64().unwrap() > 0);
    assert_eq!(
        v["result"]["operations"].as_u64(),
        v["customer_root_ops"].as_u64()
    );
    let d = scratch("simulate");
    let out = d.join("sim");
    ok(&[
        "simulate",
        "--design",
        "flat",
        "--workload",
        "rotate-root",
        "--role",
        "ck2",
        "--preset",
        "tiny",
        "--shared-vaults",
        "1",
        "--out",
        s(&out),
    ]);
    for f in [
        "summary.md",
        "timeline.svg",
        "timeline.csv",
        "simulation.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let base = [
        "simulate",
        "--workload",
        "revoke",
        "--role",
        "ck1",
        "--preset",
        "tiny",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    fails(
        &with(&["--profile", "nope"]),
        &["unknown key-service profile", "akv-rsa2048"],
    );
    fails(&with(&["--profile", "user"]), &["--root-ops-per-s"]);
    fails(
        &with(&["--root-ops-per-s", "5"]),
        &["only with --profile user"],
    );
    fails(&with(&["--workers", "0"]), &["workers per vault"]);
    fails(&with(&["--latency-ms", "50,10"]), &["p99"]);
    fails(
        &with(&["--vaults-per-tenant", "0"]),
        &["vaults must be 1 to 1024"],
    );
    fails(
        &with(&["--profile", "aws-kms", "--local-wraps"]),
        &["symmetric"],
    );
    fails(&with(&["--cold"]), &["--cold does not apply"]);
    fails(
        &["simulate", "--workload", "revoke", "--preset", "tiny"],
        &["needs --role", "ck1"],
    );
    ok(&with(&[
        "--profile",
        "user",
        "--root-ops-per-s",
        "2.5",
        "--vaults-per-tenant",
        "2",
    ]));
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = keyhier(args);
    assert!(o.status.success(), "{args:?} failed:\n{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn design_row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["designs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["design"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

fn near(v: &serde_json::Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is no number"));
    assert!((got - want).abs() <= 1e-12 + 1e-9 * want, "{got} vs {want}");
}

#[test]
fn risk_json_with_the_defaults_and_with_events_given_equals_the_hand_computation() {
    let v = json(&["risk", "--design", "m365", "--preset", "tiny", "--json"]);
    assert_eq!(v["assumptions"], true);
    let m = design_row(&v, "m365");
    // customer-admins 0.01 (ck1+ck2, per tenant), customer-key-leak 0.002 (each key),
    // provider-key-infra 0.0001 (every ak): any one root opens a mailbox
    near(&m["p_leaf_exposed"], 1.0 - 0.99 * 0.998 * 0.998 * 0.9999);
    near(&m["p_loss"], (0.001 + 0.999 * 0.01 * 0.01) * 0.00001);
    near(&design_row(&v, "provider")["p_leaf_exposed"], 0.0001);
    let v = json(&[
        "risk",
        "--design",
        "m365",
        "--preset",
        "tiny",
        "--json",
        "--event",
        "a=0.1:ck1",
        "--event",
        "b=0.01:ak:tenant",
        "--loss",
        "c=0.5:ck1,ck2",
        "--loss",
        "d=0.2:ak:key",
    ]);
    assert_eq!(v["assumptions"], false);
    let m = design_row(&v, "m365");
    near(&m["p_leaf_exposed"], 1.0 - 0.9 * 0.99);
    near(&m["p_loss"], 0.5 * 0.2);
    // given compromises only: the losses are the defaults, and say so
    let v = json(&[
        "risk",
        "--design",
        "dke",
        "--preset",
        "tiny",
        "--json",
        "--event",
        "a=0.1:ck1,ak",
    ]);
    assert_eq!(v["assumptions"], true);
    assert_eq!(v["scenario"]["losses_assumed"], true);
    near(&design_row(&v, "dke")["p_leaf_exposed"], 0.1);
    let out = ok(&["risk", "--design", "m365", "--preset", "tiny"]);
    assert!(out.contains("ASSUMPTIONS, not facts"), "{out}");
    assert!(out.contains("What your keys bought you"), "{out}");
}

#[test]
fn risk_refuses_bad_events_and_writes_its_plot() {
    for (event, want) in [
        ("x=2:ck1", "between 0 and 1"),
        ("x=-0.5:ck1", "between 0 and 1"),
        ("x=0.1:ck9", "no root role"),
        ("x=0.1:dep", "no root role"),
        ("x=0.1:ck1:sideways", "unknown extent"),
        ("x:0.1:ck1", "no `=`"),
        ("x=0.1", "PROBABILITY:ROLES"),
    ] {
        fails(
            &[
                "risk", "--design", "m365", "--preset", "tiny", "--event", event,
            ],
            &[want],
        );
    }
    fails(
        &[
            "risk",
            "--design",
            "m365",
            "--preset",
            "tiny",
            "--loss",
            "y=0.1:ck1:every",
        ],
        &["unknown extent"],
    );
    let d = scratch("risk-plot");
    let svg = d.join("sensitivity.svg");
    ok(&[
        "risk",
        "--design",
        "m365",
        "--preset",
        "tiny",
        "--plot",
        s(&svg),
    ]);
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(
        body.starts_with("<svg") && body.contains("customer-admins"),
        "{body}"
    );
    fails(
        &[
            "risk",
            "--design",
            "m365",
            "--preset",
            "tiny",
            "--plot",
            "/dev/full",
        ],
        &["not a regular file"],
    );
}

#[test]
fn purge_reports_the_providers_window_and_says_when_it_is_not_supported() {
    let v = json(&[
        "run",
        "--design",
        "m365",
        "--workload",
        "purge",
        "--tenant",
        "0",
        "--preset",
        "tiny",
        "--json",
    ]);
    assert_eq!(v["provider_can_decrypt_hours"], 72.0);
    assert_eq!(v["controller"], "customer-request");
    assert_eq!(v["purge"]["supported"], true);
    assert!(!v["purge"]["residue"].as_array().unwrap().is_empty());
    assert_eq!(v["verification"]["verified"], true);
    let v = json(&[
        "run",
        "--design",
        "m365",
        "--workload",
        "purge",
        "--preset",
        "tiny",
        "--json",
        "--purge-window-hours",
        "24",
    ]);
    assert_eq!(v["provider_can_decrypt_hours"], 24.0);
    let v = json(&[
        "run",
        "--design",
        "multi",
        "--workload",
        "purge",
        "--tenant",
        "0",
        "--preset",
        "tiny",
        "--json",
    ]);
    assert_eq!(v["purge"]["supported"], false);
    assert!(
        v["purge"]["reason"]
            .as_str()
            .unwrap()
            .contains("multi-workload"),
        "{v}"
    );
    let out = ok(&[
        "run",
        "--design",
        "sharepoint",
        "--workload",
        "purge",
        "--preset",
        "tiny",
    ]);
    assert!(out.contains("not supported"), "{out}");
    for hours in ["--purge-window-hours=-3", "--purge-window-hours=inf"] {
        fails(
            &["run", "--preset", "tiny", "--workload", "purge", hours],
            &["not a number of hours"],
        );
    }
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "revoke",
            "--role",
            "ck1",
            "--purge-window-hours",
            "3",
        ],
        &["--purge-window-hours does not apply"],
    );
}

#[test]
fn as_customer_refuses_what_only_the_provider_can_do() {
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "rotate-root",
            "--role",
            "ak",
            "--as",
            "customer",
        ],
        &["cannot be run --as customer", "provider alone"],
    );
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "shred",
            "--as",
            "customer",
        ],
        &["--workload purge"],
    );
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "rotate-root",
            "--role",
            "ck1",
            "--as",
            "provider",
        ],
        &["only the customer"],
    );
    for args in [
        &[
            "--workload",
            "rotate-root",
            "--role",
            "ck1",
            "--as",
            "customer",
        ][..],
        &["--workload", "purge", "--as", "customer"][..],
        &["--workload", "revoke", "--role", "ak", "--as", "provider"][..],
    ] {
        let mut v = vec!["run", "--preset", "tiny", "--json"];
        v.extend_from_slice(args);
        json(&v);
    }
    // without --as the provider's operation runs, labelled
    let v = json(&[
        "run",
        "--preset",
        "tiny",
        "--workload",
        "rotate-root",
        "--role",
        "ak",
        "--json",
    ]);
    assert_eq!(v["controller"], "provider");
}

#[test]
fn blast_shows_revoked_beside_lost() {
    let out = ok(&["blast", "--preset", "tiny", "--design", "m365"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("| m365 | ck1+ck2 | revoked |"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("| 0.0% | 100.0% |"), "{line}");
    assert!(line.contains("until the provider deletes it"), "{line}");
    assert!(out.contains("| m365 | ck1+ck2 | lost | 100.0% |"), "{out}");
    let v = json(&["blast", "--preset", "tiny", "--design", "m365", "--json"]);
    let revoked = v["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roles"] == "ck1+ck2" && r["state"] == "revoked")
        .unwrap();
    assert_eq!(revoked["users"], 0.0);
    assert_eq!(revoked["provider_services"], 1.0);
}

#[test]
fn lazy_runs_report_the_roll_over_time() {
    let v = json(&[
        "run",
        "--preset",
        "tiny",
        "--design",
        "flat",
        "--workload",
        "rotate-root",
        "--role",
        "ck1",
        "--lazy",
        "--json",
        "--never-touched",
        "0.2",
        "--days",
        "10",
    ]);
    let c = &v["lazy_curve"];
    assert_eq!(c["wraps"], 98);
    assert_eq!(c["days"].as_array().unwrap().len(), 11);
    near(&c["tail_wraps"], 98.0 * 0.2);
    // an assumption while either share is the default
    assert_eq!(c["assumed"], true);
    let d = scratch("lazy-plot");
    let svg = d.join("lazy.svg");
    let out = ok(&[
        "run",
        "--preset",
        "tiny",
        "--workload",
        "rotate-root",
        "--role",
        "ck1",
        "--lazy",
        "--lazy-plot",
        s(&svg),
    ]);
    assert!(out.contains("lazy roll over time (ASSUMED"), "{out}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "rotate-root",
            "--role",
            "ck1",
            "--days",
            "3",
        ],
        &["--days applies only with --lazy"],
    );
    fails(
        &[
            "run",
            "--preset",
            "tiny",
            "--workload",
            "rotate-root",
            "--role",
            "ck1",
            "--lazy",
            "--touched-per-day",
            "2",
        ],
        &["not a share"],
    );
}

/// `simulate --latency-from` takes a measured backend's p50 and p99 from a
/// `token bench --out` file (the committed one), and names what is wrong
/// with a file that is not one.
#[test]
fn simulate_takes_its_latency_from_a_token_bench_file() {
    let bench = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/results/2026-12-02-vm-token/token-bench.json"
    );
    let base = [
        "simulate",
        "--design",
        "m365",
        "--workload",
        "revoke",
        "--role",
        "ck1",
        "--profile",
        "akv-rsa2048",
        "--preset",
        "tiny",
        "--latency-from",
    ];
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bench).unwrap()).unwrap();
    for (op, section, key) in [("", "token", "unwrap"), (":rsa-wrap", "rsa_oaep", "wrap")] {
        let arg = format!("{bench}{op}");
        let mut args = base.to_vec();
        args.push(&arg);
        let out = ok(&args);
        let p50 = v[section][format!("{key}_p50_us")].as_f64().unwrap() / 1000.0;
        assert!(out.contains(&format!("p50 {p50} ms")), "{op}: {out}");
    }
    let d = scratch("latency-from");
    let not = d.join("not.json");
    std::fs::write(&not, "{\"token\": {}}").unwrap();
    let mut args = base.to_vec();
    args.push(s(&not));
    fails(&args, &["no token.unwrap_p50_us"]);
    let mut args = base.to_vec();
    args.push("/nonexistent/bench.json:rsa-unwrap");
    fails(&args, &["cannot read it"]);
}
