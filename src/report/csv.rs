//! The CSV files of results folders (`raw.csv` and `sweep.csv` of compare,
//! `blast.csv`, the perf `raw.csv`), written through the `csv` crate, which
//! quotes a field wherever a comma, a quote or a line break needs it. Rows
//! with a fixed set of columns are `Serialize` records; the run table, whose
//! root-profile columns depend on the rows, is a list of named columns that
//! gives the header and every row's fields from one place.

use std::fmt::Display;

use serde::Serialize;

use crate::analysis::exposure::Blast;
use crate::engine::workload::RunRow;
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::suite::perf::{Measured, PerfRow};

/// A float written with `N` decimals.
struct Fixed<const N: usize>(f64);

impl<const N: usize> Display for Fixed<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.*}", N, self.0)
    }
}

impl<const N: usize> Serialize for Fixed<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn csv_error(file: &str, e: impl Into<std::io::Error>) -> Error {
    Error::io(format!("writing {file}"), e.into())
}

/// The text a CSV writer filled.
fn finish(file: &str, w: ::csv::Writer<Vec<u8>>) -> Result<String> {
    let bytes = w
        .into_inner()
        .map_err(|e| csv_error(file, e.into_error()))?;
    String::from_utf8(bytes).map_err(|e| {
        csv_error(
            file,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

/// `file` with a header from `R`'s field names and one line per record.
pub(crate) fn serialized<R: Serialize>(
    file: &str,
    records: impl IntoIterator<Item = R>,
) -> Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r).map_err(|e| csv_error(file, e))?;
    }
    finish(file, w)
}

/// One column of the run table: its header and the field it takes from a row.
type Column<'a> = (String, Box<dyn Fn(&RunRow) -> String + 'a>);

fn column<'a>(name: impl Into<String>, cell: impl Fn(&RunRow) -> String + 'a) -> Column<'a> {
    (name.into(), Box::new(cell))
}

/// An optional value, empty when absent.
fn opt<T: Display>(x: Option<T>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

/// One operation count of [`Counts`].
type Count = fn(&Counts) -> u64;

/// The operation counts, in the order of the columns.
const COUNTS: [(&str, Count); 9] = [
    ("wraps", |c| c.wraps),
    ("unwraps", |c| c.unwraps),
    ("root_ops", |c| c.root_ops),
    ("keys_rekeyed", |c| c.keys_rekeyed),
    ("leaves_rekeyed", |c| c.leaves_rekeyed),
    ("keys_reshared", |c| c.keys_reshared),
    ("roots_replaced", |c| c.roots_replaced),
    ("wraps_rewritten", |c| c.wraps_rewritten),
    ("bytes_rewritten", |c| c.bytes_rewritten),
];

/// Every column of the run table; `profiles` are the key-service profiles, one
/// `root_seconds_<profile>` column each (simulated, one vault per tenant; the
/// provider's root operations, `provider_root_ops`, are not in them).
fn run_columns(profiles: &[String]) -> Vec<Column<'_>> {
    let mut cols = vec![
        column("design", |r| r.design.clone()),
        column("workload", |r| r.workload.clone()),
        column("kind", |r| r.kind.to_string()),
        column("role", |r| opt(r.role.as_ref())),
        column("extent", |r| opt(r.extent.map(|e| e.name()))),
        column("scheme", |r| r.scheme.to_string()),
        column("shape", |r| r.shape.clone()),
        column("threads", |r| r.threads.to_string()),
        column("tenants", |r| r.tenants.to_string()),
        column("groups", |r| r.groups.to_string()),
        column("leaves", |r| r.leaves.to_string()),
        column("keys", |r| r.keys.to_string()),
        column("stored_wraps", |r| r.stored_wraps.to_string()),
    ];
    for (name, count) in COUNTS {
        cols.push(column(format!("measured_{name}"), move |r| {
            count(&r.measured).to_string()
        }));
    }
    for (name, count) in COUNTS {
        cols.push(column(format!("analytic_{name}"), move |r| {
            count(&r.analytic).to_string()
        }));
    }
    cols.extend([
        column("counts_match", |r| r.counts_match.to_string()),
        column("deferred_wraps", |r| opt(r.deferred.map(|d| d.wraps))),
        column("deferred_seconds", |r| {
            opt(r.deferred_seconds.map(Fixed::<6>))
        }),
        column("seconds", |r| Fixed::<6>(r.seconds).to_string()),
        column("items", |r| r.items.to_string()),
        column("items_per_s", |r| Fixed::<1>(r.items_per_s).to_string()),
        column("ops_per_s", |r| Fixed::<1>(r.ops_per_s).to_string()),
        column("tenant_p50_ms", |r| Fixed::<3>(r.tenant_p50_ms).to_string()),
        column("tenant_p99_ms", |r| Fixed::<3>(r.tenant_p99_ms).to_string()),
        column("tenant_max_ms", |r| Fixed::<3>(r.tenant_max_ms).to_string()),
        column("customer_root_ops", |r| {
            r.root_service.customer_root_ops.to_string()
        }),
        column("provider_root_ops", |r| {
            r.root_service.provider_root_ops.to_string()
        }),
    ]);
    for p in profiles {
        cols.push(column(format!("root_seconds_{p}"), move |r| {
            opt(r
                .root_seconds
                .iter()
                .find(|(n, _)| n == p)
                .map(|(_, t)| Fixed::<3>(*t)))
        }));
    }
    cols.extend([
        column("data_bytes", |r| r.data.bytes.to_string()),
        column("data_mode", |r| r.data.mode.to_string()),
        column("data_seconds", |r| Fixed::<6>(r.data.seconds).to_string()),
        column("data_gb_per_s", |r| Fixed::<3>(r.data.gb_per_s).to_string()),
        column("remedy", |r| opt(r.remedy.map(|m| m.name()))),
        column("remedies_insufficient", |r| {
            let bad: Vec<&str> = r
                .remedies
                .iter()
                .filter(|m| !m.sufficient)
                .map(|m| m.name)
                .collect();
            bad.join(" ")
        }),
        column("one_more_holds", |r| {
            opt(r.verification.one_more.as_ref().map(|o| o.holds))
        }),
        column("one_more_leaves_beyond", |r| {
            opt(r.verification.one_more.as_ref().map(|o| {
                o.worst
                    .as_ref()
                    .filter(|_| !o.holds)
                    .map_or(0, |w| w.beyond)
            }))
        }),
        column("crypto_shred", |r| opt(r.crypto_shred)),
        column("wraps_to_delete", |r| opt(r.wraps_to_delete)),
        column("controller", |r| opt(r.controller.map(|c| c.name()))),
        column("provider_can_decrypt_hours", |r| {
            opt(r.provider_can_decrypt_hours)
        }),
        column("purge_leaves_left", |r| {
            opt(r.purge.as_ref().map(|p| p.leaves_left))
        }),
        column("verified", |r| r.verification.verified.to_string()),
        column("verify_leaves_checked", |r| {
            r.verification.leaves_checked.to_string()
        }),
        column("verify_leaves_wrong", |r| {
            r.verification.leaves_wrong.to_string()
        }),
        column("verify_hostile_attempts", |r| {
            r.verification.hostile_attempts.to_string()
        }),
        column("verify_hostile_opened", |r| {
            r.verification.hostile_opened.to_string()
        }),
        column("verify_unwraps", |r| r.verification.unwraps.to_string()),
        column("verify_seconds", |r| {
            Fixed::<6>(r.verification.seconds).to_string()
        }),
        // roots in a backend (empty: in process)
        column("root_backend", |r| {
            opt(r.root_backend.as_ref().map(|b| b.kind.name()))
        }),
        column("root_backend_ops", |r| {
            opt(r.root_backend.as_ref().map(|b| b.ops))
        }),
        column("root_backend_ops_per_s", |r| {
            opt(r.root_backend.as_ref().map(|b| Fixed::<1>(b.ops_per_s)))
        }),
        column("root_backend_p50_us", |r| {
            opt(r.root_backend.as_ref().map(|b| Fixed::<1>(b.p50_us)))
        }),
        column("root_backend_p99_us", |r| {
            opt(r.root_backend.as_ref().map(|b| Fixed::<1>(b.p99_us)))
        }),
        column("root_backend_seconds", |r| {
            opt(r.root_backend.as_ref().map(|b| Fixed::<6>(b.seconds)))
        }),
        column("root_backend_predicted_seconds", |r| {
            opt(r
                .root_backend
                .as_ref()
                .and_then(|b| b.predicted_seconds.map(Fixed::<6>)))
        }),
    ]);
    cols
}

/// The run table (compare's `raw.csv` and `sweep.csv`): a header and one line
/// per run. The root-profile columns are those of the first row.
pub fn runs_csv(rows: &[RunRow]) -> Result<String> {
    const FILE: &str = "the run table";
    let profiles: Vec<String> = rows
        .first()
        .map(|r| r.root_seconds.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let cols = run_columns(&profiles);
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(cols.iter().map(|(name, _)| name))
        .map_err(|e| csv_error(FILE, e))?;
    for r in rows {
        w.write_record(cols.iter().map(|(_, cell)| cell(r)))
            .map_err(|e| csv_error(FILE, e))?;
    }
    finish(FILE, w)
}

/// One line of `blast.csv`: an exposure row, or an availability row with
/// the three exposure-only fields empty.
#[derive(Serialize)]
struct BlastRecord<'a> {
    table: &'static str,
    design: &'a str,
    roles: &'a str,
    extent: &'static str,
    keys: u64,
    leaves: u64,
    share: Fixed<6>,
    affected_tenants: Option<u32>,
    share_of_affected: Option<Fixed<6>>,
    partial_share_keys: Option<u64>,
}

/// Exposure and availability rows as CSV (`blast.csv`).
pub fn blast_csv(b: &Blast) -> Result<String> {
    let exposure = b.exposure.iter().map(|r| BlastRecord {
        table: "exposure",
        design: &r.design,
        roles: &r.roles,
        extent: r.extent.name(),
        keys: r.keys_held,
        leaves: r.leaves_exposed,
        share: Fixed(r.share_of_all),
        affected_tenants: Some(r.affected_tenants),
        share_of_affected: Some(Fixed(r.share_of_affected)),
        partial_share_keys: Some(r.partial_share_keys),
    });
    let availability = b.availability.iter().map(|r| BlastRecord {
        table: "availability",
        design: &r.design,
        roles: &r.roles,
        extent: r.extent.name(),
        keys: r.keys_lost,
        leaves: r.leaves_recoverable,
        share: Fixed(r.share_recoverable),
        affected_tenants: None,
        share_of_affected: None,
        partial_share_keys: None,
    });
    serialized("blast.csv", exposure.chain(availability))
}

/// One line of the perf `raw.csv`.
#[derive(Serialize)]
struct PerfRecord<'a> {
    what: &'a Measured,
    implementation: &'a str,
    batch: usize,
    threads: usize,
    ns_per_key: Fixed<3>,
    keys_per_s_per_thread: Fixed<1>,
    /// Every round, ns per key, separated by spaces.
    rounds_ns: String,
}

/// Perf rows as CSV (the perf `raw.csv`), every round in one field.
pub fn perf_csv<'a>(rows: impl IntoIterator<Item = &'a PerfRow>) -> Result<String> {
    serialized(
        "the perf table",
        rows.into_iter().map(|r| PerfRecord {
            what: &r.what,
            implementation: &r.implementation,
            batch: r.batch,
            threads: r.threads,
            ns_per_key: Fixed(r.ns_per_key),
            keys_per_s_per_thread: Fixed(r.keys_per_s_per_thread),
            rounds_ns: r
                .rounds
                .iter()
                .map(|x| Fixed::<2>(*x).to_string())
                .collect::<Vec<_>>()
                .join(" "),
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::engine::workload::RunOptions;
    use crate::graph::design::Design;
    use crate::suite::compare::{ComparePlan, compare};
    use crate::suite::perf::{Measured, Op, PerfRow};

    /// Every record of `path` as a CSV reader sees it, after checking that
    /// each has as many fields as the header.
    fn parsed(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = ::csv::Reader::from_path(path).expect("a CSV file");
        let header: Vec<String> = r
            .headers()
            .expect("a header")
            .iter()
            .map(Into::into)
            .collect();
        let mut records = Vec::new();
        for (i, rec) in r.records().enumerate() {
            // the reader itself rejects a record whose length differs from the header's
            let rec = rec.unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 2));
            assert_eq!(rec.len(), header.len(), "{} record {i}", path.display());
            records.push(rec.iter().map(Into::into).collect());
        }
        assert!(!records.is_empty(), "{} has no records", path.display());
        (header, records)
    }

    fn column<'a>(header: &[String], records: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
        let i = header.iter().position(|h| h == name).expect(name);
        records.iter().map(|r| r[i].as_str()).collect()
    }

    /// Every CSV of the compare and perf folders parses back with the
    /// header's field count, and a design name with a comma (`tree:4,4`)
    /// and an implementation name with one come back whole.
    #[test]
    fn every_csv_parses_back_with_the_header_field_count() {
        let dir = std::env::temp_dir().join(format!("keyhier-csv-test-{}", std::process::id()));
        let tree = Design::by_name("tree:4,4").expect("tree:4,4");
        let plan = ComparePlan {
            designs: vec![tree, Design::flat()],
            workloads: vec![
                "provision".parse().expect("provision"),
                "rotate-root:customer:all".parse().expect("rotate-root"),
            ],
            preset: crate::graph::shape::PRESETS[0],
            scheme: crate::crypto::scheme::SchemeId::Kw,
            opts: RunOptions::default(),
            sweep: vec![crate::graph::shape::PRESETS[0]],
            risk: crate::analysis::risk::Scenario::assumed(),
            roots: None,
        };
        let res = compare(&plan, &crate::engine::progress::Silent).expect("compare");
        let env = serde_json::json!({});
        let compare_dir = dir.join("compare");
        super::super::write_compare(&compare_dir, &res, "t", "keyhier compare", &env)
            .expect("written");

        let (head, raw) = parsed(&compare_dir.join("raw.csv"));
        let designs = column(&head, &raw, "design");
        assert!(designs.contains(&"tree:4,4"), "{designs:?}");
        assert!(designs.contains(&"flat"), "{designs:?}");
        assert_eq!(raw.len(), res.rows.len());
        // one column per root-cost profile, filled on every row
        for (p, _) in &res.rows[0].root_seconds {
            let times = column(&head, &raw, &format!("root_seconds_{p}"));
            assert!(
                times.iter().all(|t| t.parse::<f64>().is_ok()),
                "{p}: {times:?}"
            );
        }
        let (head, sweep) = parsed(&compare_dir.join("sweep.csv"));
        assert!(column(&head, &sweep, "design").contains(&"tree:4,4"));
        assert_eq!(sweep.len(), res.sweep.len());
        let (head, blast) = parsed(&compare_dir.join("blast.csv"));
        assert_eq!(
            head,
            [
                "table",
                "design",
                "roles",
                "extent",
                "keys",
                "leaves",
                "share",
                "affected_tenants",
                "share_of_affected",
                "partial_share_keys"
            ]
        );
        assert!(column(&head, &blast, "design").contains(&"tree:4,4"));
        assert_eq!(
            blast.len(),
            res.blast.exposure.len() + res.blast.availability.len()
        );
        // availability rows leave the exposure-only fields empty
        let tables = column(&head, &blast, "table");
        let affected = column(&head, &blast, "affected_tenants");
        for (t, a) in tables.iter().zip(&affected) {
            assert_eq!(*t == "availability", a.is_empty(), "{t} {a:?}");
        }

        let row = |what: Measured, imp: &str| PerfRow {
            what,
            implementation: imp.into(),
            batch: 256,
            threads: 1,
            ns_per_key: 20.0,
            keys_per_s_per_thread: 5e7,
            rounds: vec![20.0, 21.5, 19.25],
        };
        let prims = vec![
            row(Measured::Primitive(Op::Rewrap), "aes-kw loop"),
            row(Measured::Primitive(Op::Rewrap), "fastkw portable"),
            row(Measured::Primitive(Op::Wrap), "fastkw portable"),
            row(Measured::Ceiling, "AES-256 blocks, portable"),
        ];
        let works = vec![
            row(Measured::Beside(Op::Rewrap), "fastkw portable"),
            row(
                Measured::Arena {
                    op: Op::Unwrap,
                    stride: 120,
                },
                "fastkw portable stride 120",
            ),
            row(
                Measured::Workload {
                    design: "tree:4,4".into(),
                    preset: "tiny".into(),
                    kind: crate::engine::workload::WorkloadKind::UnwrapAll,
                    label: "unwrap-all".into(),
                },
                "keyhier run",
            ),
        ];
        let perf_dir = dir.join("perf");
        super::super::write_perf(&perf_dir, &prims, &works, "keyhier perf", &env).expect("written");
        let (head, perf) = parsed(&perf_dir.join("raw.csv"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            column(&head, &perf, "what"),
            [
                "rewrap",
                "rewrap",
                "wrap",
                "ceiling",
                "beside rewrap",
                "arena unwrap",
                "tree:4,4 tiny: unwrap-all"
            ]
        );
        assert!(column(&head, &perf, "implementation").contains(&"AES-256 blocks, portable"));
        assert_eq!(column(&head, &perf, "rounds_ns")[0], "20.00 21.50 19.25");
        assert_eq!(column(&head, &perf, "ns_per_key")[0], "20.000");
    }
}
