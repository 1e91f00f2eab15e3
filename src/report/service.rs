//! A simulated key-service run for a person: its summary in words, its
//! timeline as CSV, and the timeline as an SVG plot (operations per second
//! achieved and requests throttled, over simulated time), and the folder
//! `keyhier simulate --out` writes. Rows in, files out; nothing is measured
//! or simulated here.

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use crate::engine::service::profile::Jitter;
use crate::engine::service::sim::Latency;
use crate::engine::service::{RequestKind, Simulation};
use crate::error::{Error, Result};
use crate::report::folder::Folder;
use crate::report::markdown::human_secs;

const ACHIEVED: RGBColor = RGBColor(31, 119, 180);
const THROTTLED: RGBColor = RGBColor(214, 39, 40);

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        context: "drawing the timeline plot".into(),
        kind: std::io::ErrorKind::Other,
        message: e.to_string(),
    }
}

fn latency_text(l: &Latency) -> String {
    match *l {
        Latency::Constant { ms: 0.0 } => "none".into(),
        Latency::Constant { ms } => format!("{ms} ms each"),
        Latency::LogNormal { p50_ms, p99_ms } => {
            format!("log-normal, p50 {p50_ms} ms, p99 {p99_ms} ms")
        }
    }
}

/// The summary of a simulated run, as text.
pub fn simulation_text(sim: &Simulation) -> String {
    let mut s = String::new();
    let p = &sim.profile;
    let r = &sim.result;
    let o = &sim.options;
    let _ = writeln!(s, "{} {} at {}", sim.design, sim.workload, p.name);
    let _ = writeln!(s, "{}", p.about);
    let _ = writeln!(
        s,
        "placement: {}; {} workers per {}; latency {}; seed {}",
        sim.placement,
        o.workers_per_vault,
        p.scope.name(),
        latency_text(&o.latency),
        o.seed
    );
    let _ = writeln!(
        s,
        "root operations: {} against the customer's roots ({} sent to {} {}{}{}), {} against the provider's own (served by its own service, whose limits are not published: not simulated)",
        sim.customer_root_ops,
        r.operations,
        r.vaults,
        p.scope.name(),
        if r.vaults == 1 { "" } else { "s" },
        if sim.local_wraps > 0 {
            format!(
                "; {} wraps under RSA public keys done by the client",
                sim.local_wraps
            )
        } else {
            String::new()
        },
        sim.provider_root_ops
    );
    let _ = writeln!(
        s,
        "simulated time: {} ({:.3} s; the slowest {}, {}; the busiest has {} requests), {:.1} operations per second achieved",
        human_secs(r.seconds),
        r.seconds,
        p.scope.name(),
        if sim.slowest_vault.is_empty() {
            "none"
        } else {
            &sim.slowest_vault
        },
        sim.busiest_vault_requests,
        r.ops_per_s
    );
    let _ = writeln!(
        s,
        "throttled: {} operations refused at least once, {} retries (429 responses)",
        r.throttled, r.retries
    );
    if matches!(o.latency, Latency::Constant { ms: 0.0 }) {
        let _ = writeln!(
            s,
            "(no latency: what one window's quota allows takes no time at all; --latency-ms gives requests a duration)"
        );
    }
    let quotas: Vec<String> = p
        .quotas
        .iter()
        .map(|q| {
            format!(
                "{}: {} per {}",
                q.name,
                q.limit,
                human_secs(q.window_ms as f64 / 1000.0)
            )
        })
        .collect();
    let _ = writeln!(s, "quotas per {}: {}", p.scope.name(), quotas.join("; "));
    let charges: Vec<String> = RequestKind::ALL
        .iter()
        .map(|k| {
            let c = p.charges[k.index()];
            format!("{} {} of {}", k.name(), c.units, p.quotas[c.quota].name)
        })
        .collect();
    let _ = writeln!(s, "each request costs: {}", charges.join(", "));
    if let Some(f) = p.tenant_cap_factor {
        let _ = writeln!(
            s,
            "a tenant's {}s together: at most {f} times one's limits",
            p.scope.name()
        );
    }
    let jitter = match p.backoff.jitter {
        Jitter::None => "no jitter".to_string(),
        Jitter::Full => "full jitter".to_string(),
        Jitter::PlusMinus { ms } => format!("±{ms} ms jitter"),
    };
    let _ = writeln!(
        s,
        "on a 429: wait {} doubling to at most {}, {jitter}, and send again",
        human_secs(p.backoff.base_ms as f64 / 1000.0),
        human_secs(p.backoff.cap_ms as f64 / 1000.0)
    );
    let _ = writeln!(s, "source: {}", p.source);
    s
}

/// The timeline as CSV: one line per window, its start, the operations
/// completed and the requests throttled in it, and both per second.
pub fn timeline_csv(sim: &Simulation) -> Result<String> {
    let t = &sim.result.timeline;
    let err = |e: ::csv::Error| Error::io("writing timeline.csv", e.into());
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "start_s",
        "completed",
        "throttled",
        "completed_per_s",
        "throttled_per_s",
    ])
    .map_err(err)?;
    for (i, (c, th)) in t.completed.iter().zip(&t.throttled).enumerate() {
        w.write_record([
            format!("{:.3}", i as f64 * t.window_s),
            c.to_string(),
            th.to_string(),
            format!("{:.3}", *c as f64 / t.window_s),
            format!("{:.3}", *th as f64 / t.window_s),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::io("writing timeline.csv", e.into_error()))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::io(
            "writing timeline.csv",
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

/// `path`: operations per second achieved and requests throttled per
/// second, over simulated time, one point per timeline window.
pub fn timeline_plot(path: &Path, sim: &Simulation) -> Result<()> {
    let t = &sim.result.timeline;
    let w = t.window_s;
    let per_s = |v: &[u64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| ((i as f64 + 0.5) * w, n as f64 / w))
            .collect()
    };
    let achieved = per_s(&t.completed);
    let throttled = per_s(&t.throttled);
    let xmax = (t.completed.len().max(1) as f64 * w).max(w);
    let top = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).fold(1.0f64, f64::max) * 1.1;
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let title = format!(
        "{} {} at {} ({}): per second, over simulated time",
        sim.design, sim.workload, sim.profile.name, sim.placement
    );
    // operations on the left axis, 429s on the right: they differ by orders of magnitude
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .right_y_label_area_size(80)
        .build_cartesian_2d(0f64..xmax, 0f64..top(&achieved))
        .map_err(plot_err)?
        .set_secondary_coord(0f64..xmax, 0f64..top(&throttled));
    chart
        .configure_mesh()
        .x_desc(format!("simulated seconds (windows of {w} s)"))
        .y_desc("operations completed per second")
        .draw()
        .map_err(plot_err)?;
    chart
        .configure_secondary_axes()
        .y_desc("requests throttled (429) per second")
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(achieved, ACHIEVED.stroke_width(2)))
        .map_err(plot_err)?
        .label("operations completed (left)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], ACHIEVED.stroke_width(2)));
    chart
        .draw_secondary_series(LineSeries::new(throttled, THROTTLED.stroke_width(2)))
        .map_err(plot_err)?
        .label("requests throttled, 429 (right)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], THROTTLED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Writes `dir`: `summary.md`, `simulation.json`, `timeline.csv`,
/// `timeline.svg` and `env.json`; returns the file names.
pub fn write_simulation(
    dir: &Path,
    sim: &Simulation,
    command: &str,
    env: &serde_json::Value,
) -> Result<Vec<String>> {
    let folder = Folder::create(dir)?;
    let json = serde_json::to_string_pretty(sim).map_err(|e| {
        Error::io(
            "writing simulation.json",
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    folder.put("simulation.json", &json)?;
    folder.put("timeline.csv", &timeline_csv(sim)?)?;
    timeline_plot(&folder.path().join("timeline.svg"), sim)?;
    folder.put_env(env)?;
    let summary = format!(
        "# Key-service simulation\n\n`{command}`\n\n```text\n{}```\n\n![timeline](timeline.svg)\n",
        simulation_text(sim)
    );
    folder.put("summary.md", &summary)?;
    Ok([
        "summary.md",
        "simulation.json",
        "timeline.csv",
        "timeline.svg",
        "env.json",
    ]
    .map(String::from)
    .to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::scheme::SchemeId;
    use crate::engine::service::{
        Placement, SimOptions, profile::profile_by_name, simulate_workload,
    };
    use crate::engine::workload::spec::Workload;
    use crate::graph::design::Design;
    use crate::graph::reach::Extent;
    use crate::graph::shape::Shape;
    use crate::graph::skeleton::skeleton;

    #[test]
    fn a_simulation_folder_has_its_timeline_and_summary() {
        let d = Design::flat();
        let h = skeleton(&d, &Shape::preset("tiny").unwrap(), SchemeId::Kw, 1).unwrap();
        let w = Workload::Revoke {
            role: d.role_by_name("ck1").unwrap(),
            extent: Extent::All,
        };
        let mut p = profile_by_name("akv-rsa4096").unwrap();
        p.quotas[0].limit = 50; // a few windows on the tiny preset
        let sim = simulate_workload(
            &h,
            &w,
            Default::default(),
            &p,
            Placement::Shared { vaults: 1 },
            &SimOptions::default(),
        )
        .unwrap();
        assert!(sim.result.seconds > 0.0 && sim.provider_root_ops > 0);
        let dir = std::env::temp_dir().join(format!("keyhier-sim-{}", std::process::id()));
        let files =
            write_simulation(&dir, &sim, "keyhier simulate", &serde_json::json!({})).unwrap();
        for f in &files {
            assert!(dir.join(f).is_file(), "{f}");
        }
        let svg = std::fs::read_to_string(dir.join("timeline.svg")).unwrap();
        assert!(svg.contains("operations completed") && svg.contains("<polyline"));
        let csv = std::fs::read_to_string(dir.join("timeline.csv")).unwrap();
        let completed: u64 = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(completed, sim.result.operations);
        let text = simulation_text(&sim);
        assert!(text.contains("every tenant in one vault"), "{text}");
        assert!(text.contains(&format!("{} retries", sim.result.retries)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
