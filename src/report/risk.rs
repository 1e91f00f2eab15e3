//! `keyhier risk` as text and as a plot: the events (the defaults marked as
//! ASSUMPTIONS), each design's probabilities side by side with the baseline
//! of provider-managed keys, and the sensitivity table and its SVG. Rows in,
//! text and files out; every figure comes from [`crate::analysis::risk`].

use plotters::prelude::*;
use std::fmt::Write;

use crate::analysis::risk::{DesignRisk, EventKind, RiskEvent, RiskReport, SensitivityRow};
use crate::error::{Error, Result};

/// A probability in a short scientific form (`1.4e-2`), `0` as `0`.
pub fn prob(p: f64) -> String {
    if p == 0.0 {
        "0".into()
    } else if p >= 0.01 {
        format!("{p:.4}")
    } else {
        format!("{p:.2e}")
    }
}

fn opt_prob(p: Option<f64>) -> String {
    p.map_or_else(|| "not enumerable".into(), prob)
}

/// `a / b` as a factor (`140x`, `0.0011x`), or a dash when `b` is 0.
pub(crate) fn factor(a: f64, b: f64) -> String {
    if b == 0.0 {
        return if a == 0.0 { "1x".into() } else { "—".into() };
    }
    times(a / b)
}

/// A ratio as a factor (`140x`, `1.00x`, `1.1e-3x`).
pub(crate) fn times(f: f64) -> String {
    if f >= 9.995 {
        format!("{f:.0}x")
    } else if f >= 0.0995 {
        format!("{f:.2}x")
    } else {
        format!("{f:.1e}x")
    }
}

fn event_rows(s: &mut String, kind: EventKind, events: &[RiskEvent], assumed: bool) {
    for e in events {
        let roles: Vec<String> = e.roles.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            e.name,
            kind.name(),
            e.probability,
            roles.join(", "),
            e.extent.name(),
            if assumed { "ASSUMPTION" } else { "given" },
            if e.about.is_empty() { "—" } else { &e.about }
        );
    }
}

/// The report as Markdown.
pub fn risk_markdown(r: &RiskReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Risk within a year\n");
    if r.assumptions {
        let _ = writeln!(
            s,
            "**ASSUMPTIONS, not facts.** Events marked ASSUMPTION are keyhier's illustrative defaults, chosen to weigh the argument that the provider's isolated key infrastructure is far less likely to be compromised than a tenant's key-vault administrators; no one measured them. Give your own with `--event` and `--loss`.\n"
        );
    }
    let _ = writeln!(
        s,
        "Extents: `all` one event, the roles everywhere; `tenant` each tenant hit independently (its keys and shared ones); `key` each key independently; `one` the key above the most leaves.\n"
    );
    let _ = writeln!(
        s,
        "| event | kind | probability per year | roles | extent | source | stands for |"
    );
    let _ = writeln!(s, "|---|---|---:|---|---|---|---|");
    let sc = &r.scenario;
    event_rows(
        &mut s,
        EventKind::Compromise,
        &sc.compromises,
        sc.compromises_assumed,
    );
    event_rows(&mut s, EventKind::Loss, &sc.losses, sc.losses_assumed);
    let base = r.baseline_row();
    let _ = writeln!(
        s,
        "\n## What your keys bought you\n\nEach design beside {}: the probability that a given leaf (mailbox, blob) is exposed or irrecoverably lost within a year, mean over leaves (also the expected share of leaves), for the largest tenant's leaves, and that any leaf is.\n",
        base.map_or_else(
            || "no baseline (the provider design was not analysed)".to_owned(),
            |b| format!(
                "`{}` (provider-managed keys only: what customer keys are bought to improve on)",
                b.design
            )
        )
    );
    let _ = writeln!(
        s,
        "| design | P(leaf exposed) | largest tenant | vs baseline | expected leaves exposed | P(any leaf exposed) | P(leaf lost) | largest tenant | vs baseline | P(any leaf lost) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for d in &r.designs {
        let vs =
            |f: fn(&DesignRisk) -> f64| base.map_or_else(|| "—".into(), |b| factor(f(d), f(b)));
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} | {:.3} | {} | {} | {} | {} | {} |",
            d.design,
            if Some(d.design.as_str()) == r.baseline.as_deref() {
                " (baseline)"
            } else {
                ""
            },
            prob(d.p_leaf_exposed),
            prob(d.p_leaf_exposed_largest_tenant),
            vs(|d| d.p_leaf_exposed),
            d.expected_leaves_exposed,
            opt_prob(d.p_any_leaf_exposed),
            prob(d.p_loss),
            prob(d.p_loss_largest_tenant),
            vs(|d| d.p_loss),
            opt_prob(d.p_any_leaf_lost),
        );
    }
    let absent: Vec<String> = r
        .designs
        .iter()
        .filter(|d| !d.roles_absent.is_empty())
        .map(|d| format!("{} ({})", d.design, d.roles_absent.join("; ")))
        .collect();
    if !absent.is_empty() {
        let _ = writeln!(
            s,
            "\nRoles an event names that a design lacks take nothing there: {}.",
            absent.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\n## Sensitivity: each event's probability ÷10 and ×10\n\nThe result the event moves (P(leaf exposed) for a compromise, P(leaf lost) for a loss), mean over leaves.\n"
    );
    let _ = writeln!(
        s,
        "| design | event | kind | as given | ÷10 | ×10 | moves by |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|");
    for x in &r.sensitivity {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} to {} |",
            x.design,
            x.event,
            x.kind.name(),
            prob(x.base),
            prob(x.at_tenth),
            prob(x.at_ten_times),
            factor(x.at_tenth, x.base),
            factor(x.at_ten_times, x.base)
        );
    }
    s
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        context: "drawing the risk plot".into(),
        kind: std::io::ErrorKind::Other,
        message: e.to_string(),
    }
}

/// The sensitivity table as an SVG: per kind a panel, per design a group of
/// vertical ranges (one per event, from ÷10 to ×10, a dot at the value as
/// given) on a log scale. Results of 0 (an event that cannot hit the design)
/// are left out. Returns the SVG text.
pub fn sensitivity_svg(rows: &[SensitivityRow]) -> Result<String> {
    let mut svg = String::new();
    draw(&mut svg, rows)?;
    Ok(svg)
}

fn draw(svg: &mut String, rows: &[SensitivityRow]) -> Result<()> {
    let root = SVGBackend::with_string(svg, (1000, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((2, 1));
    for (panel, kind) in panels.iter().zip([EventKind::Compromise, EventKind::Loss]) {
        let rows: Vec<&SensitivityRow> = rows.iter().filter(|r| r.kind == kind).collect();
        let mut designs: Vec<&str> = Vec::new();
        let mut events: Vec<&str> = Vec::new();
        for r in &rows {
            if !designs.contains(&r.design.as_str()) {
                designs.push(&r.design);
            }
            if !events.contains(&r.event.as_str()) {
                events.push(&r.event);
            }
        }
        let values = rows
            .iter()
            .flat_map(|r| [r.base, r.at_tenth, r.at_ten_times])
            .filter(|v| *v > 0.0);
        let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo > hi {
            (1e-6, 1.0)
        } else {
            (lo / 3.0, (hi * 3.0).min(1.0))
        };
        let n = designs.len().max(1) as f64;
        let title = match kind {
            EventKind::Compromise => "P(a leaf exposed within a year): each compromise ÷10 … ×10",
            EventKind::Loss => "P(a leaf lost within a year): each loss ÷10 … ×10",
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..n, (lo..hi).log_scale())
            .map_err(plot_err)?;
        let cats: Vec<String> = designs.iter().map(|d| (*d).to_owned()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc("probability per year")
            .x_labels(designs.len() * 2 + 1)
            .x_label_formatter(&move |x| {
                let i = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 0.01 {
                    cats.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .draw()
            .map_err(plot_err)?;
        let k = events.len().max(1) as f64;
        for (ei, event) in events.iter().enumerate() {
            let color = COLORS[ei % COLORS.len()];
            let at = |r: &SensitivityRow| {
                let di = designs.iter().position(|d| *d == r.design).unwrap_or(0) as f64;
                di + 0.15 + 0.7 * (ei as f64 + 0.5) / k
            };
            let mine: Vec<&&SensitivityRow> = rows.iter().filter(|r| r.event == *event).collect();
            chart
                .draw_series(
                    mine.iter()
                        .filter(|r| r.at_tenth > 0.0 && r.at_ten_times > 0.0)
                        .map(|r| {
                            let x = at(r);
                            PathElement::new(
                                vec![(x, r.at_tenth.max(lo)), (x, r.at_ten_times.min(hi))],
                                color.stroke_width(4),
                            )
                        }),
                )
                .map_err(plot_err)?
                .label(*event)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            chart
                .draw_series(
                    mine.iter()
                        .filter(|r| r.base > 0.0)
                        .map(|r| Circle::new((at(r), r.base), 4, BLACK.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}
