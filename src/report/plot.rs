//! SVG plots of compare and perf results (plotters' SVG backend: text stays
//! text, no font files needed). Pure functions from rows to files.
//!
//! Every plot is log scale, with ticks a person reads without arithmetic:
//! counts as `100`, `10 k`, `1 M`; times in the unit their size calls for
//! (`10 ms`, `1 min`, `2 h`), never `1e4 seconds`. The legend stands beside
//! the plot, never over data. Series that could hide each other differ by
//! more than colour: each design has its own marker, each workload its own
//! line (solid or dashed), and a series drawn exactly over an earlier one
//! says so in the legend.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{label_for, legend_of};
use crate::engine::service::{RequestKind, builtin_profiles};
use crate::engine::workload::RunRow;
use crate::error::{Error, Result};
use crate::suite::perf::{Measured, Op, PerfRow};

/// Tableau's ten: as many series as the built-in key-service profiles
/// before a colour repeats.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Size of every plot, and of the legend panel on its right.
const WIDTH: u32 = 1150;
const HEIGHT: u32 = 560;
const LEGEND_WIDTH: u32 = 340;

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        context: "drawing a plot".into(),
        kind: std::io::ErrorKind::Other,
        message: e.to_string(),
    }
}

/// What a log axis counts, which decides its ticks and their labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    /// Operations, keys, leaves, rates: `100`, `10 k`, `1 M`.
    Count,
    /// Seconds, labelled in ns, µs, ms, s, min, h or days by size.
    Seconds,
}

/// Tick values of `axis` between `lo` and `hi`: powers of ten (for
/// times: up to 10 s, then 1 min, 10 min, 1 h, 10 h, 1 day, 10 days), or
/// with the 2s and 5s between them (1, 2, 5 min, ...) when that leaves
/// fewer than three.
fn ticks(axis: Axis, lo: f64, hi: f64) -> Vec<f64> {
    let decades = (-9..=12).map(|e| 10f64.powi(e));
    let mut coarse: Vec<f64> = Vec::new();
    let mut fine: Vec<f64> = Vec::new();
    match axis {
        Axis::Count => {
            for d in decades.filter(|&d| d >= 1.0) {
                coarse.push(d);
                fine.extend([d, 2.0 * d, 5.0 * d]);
            }
        }
        Axis::Seconds => {
            for d in decades.filter(|&d| d <= 10.0) {
                coarse.push(d);
                fine.extend([d, 2.0 * d, 5.0 * d].into_iter().filter(|&t| t < 60.0));
            }
            coarse.extend([60.0, 600.0, 3600.0, 36_000.0, 86_400.0, 864_000.0]);
            fine.extend([
                60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 18_000.0, 36_000.0,
                86_400.0, 172_800.0, 432_000.0, 864_000.0,
            ]);
        }
    }
    let within = |v: &Vec<f64>| -> Vec<f64> {
        v.iter()
            .copied()
            .filter(|&t| t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9))
            .collect()
    };
    let c = within(&coarse);
    if c.len() >= 3 { c } else { within(&fine) }
}

/// `v` with at most one decimal, none when it is whole.
fn short(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// A tick label of `axis`.
fn tick_label(axis: Axis, v: f64) -> String {
    let v1 = v * (1.0 + 1e-9);
    match axis {
        Axis::Count => {
            let (x, unit) = if v1 >= 1e9 {
                (v / 1e9, " G")
            } else if v1 >= 1e6 {
                (v / 1e6, " M")
            } else if v1 >= 1e3 {
                (v / 1e3, " k")
            } else {
                (v, "")
            };
            format!("{}{unit}", short(x))
        }
        Axis::Seconds => {
            let (x, unit) = if v1 < 1e-6 {
                (v * 1e9, "ns")
            } else if v1 < 1e-3 {
                (v * 1e6, "µs")
            } else if v1 < 1.0 {
                (v * 1e3, "ms")
            } else if v1 < 60.0 {
                (v, "s")
            } else if v1 < 3600.0 {
                (v / 60.0, "min")
            } else if v1 < 86_400.0 {
                (v / 3600.0, "h")
            } else if v1 < 2.0 * 86_400.0 {
                (v / 86_400.0, "day")
            } else {
                (v / 86_400.0, "days")
            };
            format!("{} {unit}", short(x))
        }
    }
}

/// A log range around the positive `values`: a third of the smallest to
/// three times the largest.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if hi > 0.0 {
        (lo / 3.0, hi * 3.0)
    } else {
        (0.1, 10.0)
    }
}

/// A marker shape, one per design (or backend).
#[derive(Clone, Copy, Debug)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Cross,
    Plus,
}

const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::Cross,
    Marker::Plus,
];

/// Draws `m` hollow at pixel `(x, y)` of `area`.
/// Draws `m` hollow at pixel `(x, y)` of `area`, `r` pixels from its centre
/// to its edge (6 is the usual size).
fn marker(area: &Area<'_>, (x, y): (i32, i32), m: Marker, r: i32, color: RGBColor) -> Result<()> {
    let st = color.stroke_width(2);
    let path = |pts: Vec<(i32, i32)>| PathElement::new(pts, st);
    let h = r * 3 / 4;
    match m {
        Marker::Circle => area.draw(&Circle::new((x, y), r, st)),
        Marker::Square => area.draw(&Rectangle::new([(x - h, y - h), (x + h, y + h)], st)),
        Marker::Triangle => area.draw(&path(vec![
            (x, y - r),
            (x + r, y + h),
            (x - r, y + h),
            (x, y - r),
        ])),
        Marker::Diamond => area.draw(&path(vec![
            (x, y - r),
            (x + r, y),
            (x, y + r),
            (x - r, y),
            (x, y - r),
        ])),
        Marker::Cross => area
            .draw(&path(vec![(x - h, y - h), (x + h, y + h)]))
            .and_then(|_| area.draw(&path(vec![(x - h, y + h), (x + h, y - h)]))),
        Marker::Plus => area
            .draw(&path(vec![(x - r, y), (x + r, y)]))
            .and_then(|_| area.draw(&path(vec![(x, y - r), (x, y + r)]))),
    }
    .map_err(plot_err)
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
enum Swatch {
    /// A filled box (a bar).
    Bar,
    /// A line, solid or dashed, with an optional marker.
    Line {
        dashed: bool,
        width: u32,
        marker: Option<Marker>,
    },
}

/// One legend line.
struct Entry {
    label: String,
    color: RGBColor,
    swatch: Swatch,
}

/// A line from `a` to `b` in pixels, dashed or not.
fn line(
    area: &Area<'_>,
    pts: Vec<(i32, i32)>,
    color: RGBColor,
    dashed: bool,
    width: u32,
) -> Result<()> {
    let st = color.stroke_width(width);
    if dashed {
        area.draw(&DashedPathElement::new(pts, 7, 5, st))
    } else {
        area.draw(&PathElement::new(pts, st))
    }
    .map_err(plot_err)
}

/// The legend, top down, in the panel right of the plot.
fn legend(area: &Area<'_>, entries: &[Entry]) -> Result<()> {
    let font = ("sans-serif", 13).into_font();
    let mut y = 38;
    for e in entries {
        y += 22;
        let lines = wrap(&e.label, LEGEND_CHARS);
        match e.swatch {
            Swatch::Bar => area
                .draw(&Rectangle::new([(8, y - 6), (24, y + 6)], e.color.filled()))
                .map_err(plot_err)?,
            Swatch::Line {
                dashed,
                width,
                marker: m,
            } => {
                line(area, vec![(4, y), (36, y)], e.color, dashed, width)?;
                if let Some(m) = m {
                    marker(area, (20, y), m, 6, e.color)?;
                }
            }
        }
        for (k, l) in lines.iter().enumerate() {
            area.draw(&Text::new(
                l.clone(),
                (44, y - 7 + 16 * k as i32),
                font.clone().color(&BLACK),
            ))
            .map_err(plot_err)?;
        }
        y += 16 * (lines.len() as i32 - 1);
    }
    Ok(())
}

/// Characters of a legend line (13-pixel sans-serif in the legend panel).
const LEGEND_CHARS: usize = 48;

/// `text` in lines of at most `width` characters, broken at spaces (a word
/// longer than that stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    lines.push(cur);
    lines
}

/// An area of an SVG page, in its pixels.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A white page, its plot area and its legend panel.
fn page(path: &Path) -> Result<(Area<'_>, Area<'_>, Area<'_>)> {
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
    Ok((root, plot, side))
}

/// Grouped bars on a log scale: one group per category, one bar per series.
#[allow(clippy::too_many_arguments)]
fn grouped_bars(
    path: &Path,
    title: &str,
    x_desc: &str,
    axis: Axis,
    y_desc: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> Result<()> {
    let (root, plot, side) = page(path)?;
    let (min, max) = log_range(series.iter().flat_map(|(_, v)| v.iter().copied()));
    let n = categories.len().max(1);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            0f64..n as f64,
            (min..max)
                .log_scale()
                .with_key_points(ticks(axis, min, max)),
        )
        .map_err(plot_err)?;
    let cats = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 13))
        // a label at the centre of each group only
        .x_labels(n * 2 + 1)
        .x_label_formatter(&move |x| {
            if (x - x.floor() - 0.5).abs() < 0.01 {
                cats.get(x.floor() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| tick_label(axis, *y))
        .draw()
        .map_err(plot_err)?;
    if !series.iter().flat_map(|(_, v)| v).any(|v| *v > 0.0) {
        // an empty plot must not look like a plot of small values
        plot.draw(&Text::new(
            "every value is 0: nothing to draw",
            (300, 250),
            ("sans-serif", 16).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
    }
    let k = series.len().max(1) as f64;
    let w = 0.8 / k;
    let mut entries = Vec::new();
    for (si, (name, values)) in series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(ci, v)| {
                        let x0 = ci as f64 + 0.1 + w * si as f64;
                        Rectangle::new([(x0, min), (x0 + w * 0.92, *v)], color.filled())
                    }),
            )
            .map_err(plot_err)?;
        entries.push(Entry {
            label: name.clone(),
            color,
            swatch: Swatch::Bar,
        });
    }
    legend(&side, &entries)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

fn designs(rows: &[RunRow]) -> Vec<String> {
    let mut d: Vec<String> = Vec::new();
    for r in rows {
        if !d.contains(&r.design) {
            d.push(r.design.clone());
        }
    }
    d
}

fn value(rows: &[RunRow], design: &str, label: &str, f: impl Fn(&RunRow) -> f64) -> f64 {
    rows.iter()
        .find(|r| r.design == design && r.workload == label)
        .map(f)
        .unwrap_or(0.0)
}

/// A key-service profile as a legend names it: the service and key type and
/// the unwraps one quota scope serves per second, `Azure Key Vault,
/// HSM-protected RSA 2,048-bit (200 unwraps/s per vault)`; the user's own
/// rate by its flag.
fn profile_legend(name: &str) -> String {
    match builtin_profiles().into_iter().find(|p| p.name == name) {
        Some(p) => format!(
            "{} ({} unwraps/s per {})",
            p.about.split(':').next().unwrap_or(&p.about),
            thousands(p.rate(RequestKind::Unwrap)),
            p.scope.name()
        ),
        None if name == "user" => "your rate (--root-ops-per-s)".into(),
        None => name.to_owned(),
    }
}

/// `r` as a whole number with thousands separators (`10,000`), or with two
/// significant digits below 10 (`2.5`).
fn thousands(r: f64) -> String {
    if r < 10.0 {
        return format!("{r:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned();
    }
    let digits = format!("{:.0}", r.round());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `cost-root-ops.svg`: root operations of rotation and revocation per design;
/// `cost-root-time.svg`: the time revoking the provider root everywhere takes at each root profile;
/// `measured-wall.svg`: the measured wall time of the main workloads.
pub fn cost_plots(rows: &[RunRow], dir: &Path) -> Result<Vec<String>> {
    let ds = designs(rows);
    let labels = [
        "rotate-root {customer} all",
        "rotate-root {provider} all",
        "revoke {customer} all",
        "revoke {provider} all",
        "revoke {customer} one",
    ];
    let series: Vec<(String, Vec<f64>)> = labels
        .iter()
        .map(|l| {
            (
                legend_of(l),
                ds.iter()
                    .map(|d| value(rows, d, &label_for(d, l), |r| r.measured.root_ops as f64))
                    .collect(),
            )
        })
        .collect();
    let a = "cost-root-ops.svg";
    grouped_bars(
        &dir.join(a),
        "Root operations per event (a design without the event: no bar)",
        "design",
        Axis::Count,
        "root operations (log scale)",
        &ds,
        &series,
    )?;
    let profiles: Vec<String> = rows
        .first()
        .map(|r| r.root_seconds.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let series: Vec<(String, Vec<f64>)> = profiles
        .iter()
        .map(|p| {
            let v = ds
                .iter()
                .map(|d| {
                    value(rows, d, &label_for(d, "revoke {provider} all"), |r| {
                        r.root_seconds
                            .iter()
                            .find(|(n, _)| n == p)
                            .map_or(0.0, |(_, t)| *t)
                    })
                })
                .collect();
            (profile_legend(p), v)
        })
        .collect();
    let b = "cost-root-time.svg";
    grouped_bars(
        &dir.join(b),
        "Revoking the provider root everywhere: the root operations alone, by key service",
        "design",
        Axis::Seconds,
        "time (log scale)",
        &ds,
        &series,
    )?;
    let series: Vec<(String, Vec<f64>)> = [
        "rotate-root {customer} all",
        "revoke {provider} all",
        "unwrap-all",
        "provision",
    ]
    .iter()
    .map(|l| {
        (
            legend_of(l),
            ds.iter()
                .map(|d| value(rows, d, &label_for(d, l), |r| r.seconds))
                .collect(),
        )
    })
    .collect();
    let c = "measured-wall.svg";
    grouped_bars(
        &dir.join(c),
        "Measured wall time on this machine (AES on this CPU, no key-service latency)",
        "design",
        Axis::Seconds,
        "time (log scale)",
        &ds,
        &series,
    )?;
    Ok(vec![a.into(), b.into(), c.into()])
}

/// `sweep.svg`: root operations against leaves, log-log, one line per design
/// and workload: a marker per design, a solid line for revocation and a
/// dashed one for rotation.
pub fn sweep_plot(sweep: &[(String, RunRow)], dir: &Path) -> Result<Option<String>> {
    if sweep.is_empty() {
        return Ok(None);
    }
    let name = "sweep.svg";
    let path = dir.join(name);
    let (root, plot, side) = page(&path)?;
    let (xmin, xmax) = log_range(sweep.iter().map(|(_, r)| r.leaves as f64));
    let (ymin, ymax) = log_range(sweep.iter().map(|(_, r)| r.measured.root_ops as f64));
    // a run without root operations is drawn at the bottom, half of one
    let ymin = ymin.max(0.5);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            "Root operations as the hierarchy grows (log-log)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (xmin..xmax)
                .log_scale()
                .with_key_points(ticks(Axis::Count, xmin, xmax)),
            (ymin..ymax)
                .log_scale()
                .with_key_points(ticks(Axis::Count, ymin, ymax)),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("leaves (log scale)")
        .y_desc("root operations (log scale)")
        .label_style(("sans-serif", 13))
        .x_label_formatter(&|x| tick_label(Axis::Count, *x))
        .y_label_formatter(&|y| tick_label(Axis::Count, *y))
        .draw()
        .map_err(plot_err)?;
    let mut ds: Vec<String> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for (_, r) in sweep {
        if !ds.contains(&r.design) {
            ds.push(r.design.clone());
        }
        let k = (r.design.clone(), r.workload.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    // every series first: one drawn exactly over others must leave them
    // visible, so each is drawn wider, with a larger marker, for every later
    // series that lies on it
    // (design index, revocation, points)
    type Series = (usize, bool, Vec<(f64, f64)>);
    let series: Vec<Series> = keys
        .iter()
        .map(|(d, w)| {
            let mut pts: Vec<(f64, f64)> = sweep
                .iter()
                .filter(|(_, r)| &r.design == d && &r.workload == w)
                .map(|(_, r)| (r.leaves as f64, (r.measured.root_ops as f64).max(ymin)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let di = ds.iter().position(|x| x == d).unwrap_or(0);
            (di, w.starts_with("revoke"), pts)
        })
        .collect();
    let same = |i: usize, j: usize| series[i].1 == series[j].1 && series[i].2 == series[j].2;
    let mut entries = Vec::new();
    for (i, ((d, w), (di, revoke, pts))) in keys.iter().zip(&series).enumerate() {
        let (color, m) = (COLORS[di % COLORS.len()], MARKERS[di % MARKERS.len()]);
        let above = (i + 1..series.len()).filter(|&j| same(i, j)).count() as u32;
        let pixels: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
        line(&root, pixels.clone(), color, !revoke, 2 + 2 * above)?;
        for &p in &pixels {
            marker(&root, p, m, 6 + 3 * above as i32, color)?;
        }
        let under: Vec<&str> = (0..i)
            .filter(|&j| same(i, j))
            .map(|j| keys[j].0.as_str())
            .collect();
        let label = if under.is_empty() {
            format!("{d}: {w}")
        } else {
            format!("{d}: {w} (drawn over {})", under.join(", "))
        };
        entries.push(Entry {
            label,
            color,
            swatch: Swatch::Line {
                dashed: !revoke,
                width: 2,
                marker: Some(m),
            },
        });
    }
    legend(&side, &entries)?;
    root.present().map_err(plot_err)?;
    Ok(Some(name.into()))
}

/// `batch-size.svg`: rewrap throughput per thread against batch size, one
/// line per fastkw backend (named with the AES instructions it ran on, from
/// `env.json`'s `fastkw_instructions`), with the `aes-kw` loop and the
/// ceiling for scale.
pub fn batch_plot(rows: &[PerfRow], dir: &Path, env: &serde_json::Value) -> Result<String> {
    const REWRAP: Measured = Measured::Primitive(Op::Rewrap);
    let name = "batch-size.svg";
    let path = dir.join(name);
    let (root, plot, side) = page(&path)?;
    let rates = rows.iter().map(|r| r.keys_per_s_per_thread);
    let (ymin, ymax) = log_range(rates);
    let batches: Vec<f64> = crate::suite::perf::BATCHES
        .iter()
        .map(|&b| b as f64)
        .collect();
    let (xmin, xmax) = (0.8f64, 1400.0f64);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            "Rewraps per second on one thread against batch size (log-log)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (xmin..xmax).log_scale().with_key_points(batches),
            (ymin..ymax)
                .log_scale()
                .with_key_points(ticks(Axis::Count, ymin, ymax)),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("keys per batch (log scale)")
        .y_desc("rewraps per second (log scale)")
        .label_style(("sans-serif", 13))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| tick_label(Axis::Count, *y))
        .draw()
        .map_err(plot_err)?;
    let mut imps: Vec<String> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.what == REWRAP && r.implementation.starts_with("fastkw"))
    {
        if !imps.contains(&r.implementation) {
            imps.push(r.implementation.clone());
        }
    }
    let mut entries = Vec::new();
    for (i, imp) in imps.iter().enumerate() {
        let (color, m) = (COLORS[i % COLORS.len()], MARKERS[i % MARKERS.len()]);
        let mut pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.what == REWRAP && &r.implementation == imp)
            .map(|r| (r.batch as f64, r.keys_per_s_per_thread))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pixels: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
        line(&root, pixels.clone(), color, false, 2)?;
        for &p in &pixels {
            marker(&root, p, m, 6, color)?;
        }
        let backend = imp.strip_prefix("fastkw ").unwrap_or(imp);
        let on = env
            .pointer(&format!("/run/fastkw_instructions/{backend}"))
            .and_then(|v| v.as_str());
        entries.push(Entry {
            label: match on {
                Some(on) => format!("{imp} ({on})"),
                None => imp.clone(),
            },
            color,
            swatch: Swatch::Line {
                dashed: false,
                width: 2,
                marker: Some(m),
            },
        });
    }
    let mut flat: Vec<(String, f64, RGBColor, bool)> = Vec::new();
    if let Some(r) = rows
        .iter()
        .find(|r| r.what == REWRAP && r.implementation == "aes-kw loop")
    {
        flat.push((
            "aes-kw, one key at a time".into(),
            r.keys_per_s_per_thread,
            BLACK,
            false,
        ));
    }
    if let Some(r) = rows
        .iter()
        .filter(|r| r.what == Measured::Ceiling)
        .max_by(|a, b| a.keys_per_s_per_thread.total_cmp(&b.keys_per_s_per_thread))
    {
        flat.push((
            format!(
                "ceiling: 48 pipelined AES-256 blocks ({})",
                r.implementation.rsplit(", ").next().unwrap_or("")
            ),
            r.keys_per_s_per_thread,
            RGBColor(90, 90, 90),
            true,
        ));
    }
    for (label, rate, color, dashed) in flat {
        let pixels = vec![
            chart.backend_coord(&(xmin, rate)),
            chart.backend_coord(&(xmax, rate)),
        ];
        line(&root, pixels, color, dashed, 1)?;
        entries.push(Entry {
            label,
            color,
            swatch: Swatch::Line {
                dashed,
                width: 1,
                marker: None,
            },
        });
    }
    legend(&side, &entries)?;
    root.present().map_err(plot_err)?;
    Ok(name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_read_in_the_unit_their_size_calls_for() {
        let labels = |lo, hi| -> Vec<String> {
            ticks(Axis::Seconds, lo, hi)
                .into_iter()
                .map(|t| tick_label(Axis::Seconds, t))
                .collect()
        };
        assert_eq!(
            labels(2e-6, 0.5),
            ["10 µs", "100 µs", "1 ms", "10 ms", "100 ms"]
        );
        assert_eq!(labels(5.0, 5e4), ["10 s", "1 min", "10 min", "1 h", "10 h"]);
        // too few powers of ten: the 2s and 5s fill in
        assert_eq!(labels(3e5, 2e6), ["5 days", "10 days"]);
        assert_eq!(labels(40.0, 400.0), ["50 s", "1 min", "2 min", "5 min"]);
        assert!(
            (1..=14)
                .map(|e| tick_label(Axis::Seconds, 10f64.powi(e - 7)))
                .all(|l| !l.contains('e'))
        );
    }

    #[test]
    fn count_ticks_read_as_numbers() {
        let l: Vec<String> = ticks(Axis::Count, 3.0, 4e6)
            .into_iter()
            .map(|v| tick_label(Axis::Count, v))
            .collect();
        assert_eq!(l, ["10", "100", "1 k", "10 k", "100 k", "1 M"]);
        assert_eq!(tick_label(Axis::Count, 2500.0), "2.5 k");
        assert_eq!(thousands(10_000.0), "10,000");
        assert_eq!(thousands(200.0), "200");
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(2.5), "2.5");
    }

    #[test]
    fn a_sweep_series_drawn_over_another_says_so_and_both_keep_their_marks() {
        let row = |design: &str, workload: &str, leaves: u64, ops: u64| {
            let mut r = RunRow {
                design: design.into(),
                workload: workload.into(),
                leaves,
                ..RunRow::default()
            };
            r.measured.root_ops = ops;
            (String::new(), r)
        };
        let mut sweep = Vec::new();
        for (leaves, ops) in [(100, 18), (100_000, 1500), (1_000_000, 17_000)] {
            for d in ["m365", "tree:4,4"] {
                sweep.push(row(d, "rotate-root ck1 all", leaves, ops));
                sweep.push(row(d, "revoke ak all", leaves, ops + 5));
            }
        }
        let dir = std::env::temp_dir().join(format!("keyhier-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = sweep_plot(&sweep, &dir).unwrap().unwrap();
        let svg = std::fs::read_to_string(dir.join(name)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        // the later design says it lies on the earlier one, for both workloads
        assert_eq!(svg.matches("(drawn over").count(), 2, "{svg}");
        // the one beneath is drawn wider (4 px and 2 px lines), and rotation dashed
        assert!(svg.contains("stroke-width=\"4\""), "{svg}");
        assert!(svg.contains("stroke-width=\"2\""), "{svg}");
        // ticks read as counts
        assert!(svg.contains("100 k") && svg.contains("1 M"), "{svg}");
    }

    #[test]
    fn legend_labels_wrap_at_spaces() {
        assert_eq!(
            wrap(
                "tree:4,4: rotate-root ck1 all (drawn over m365, threshold)",
                42
            ),
            [
                "tree:4,4: rotate-root ck1 all (drawn over",
                "m365, threshold)"
            ]
        );
        assert_eq!(wrap("short", 48), ["short"]);
    }
}
