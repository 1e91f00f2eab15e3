//! SVG plots of compare results (plotters' SVG backend: text stays text, no
//! font files needed). Pure functions from rows to files.

use std::path::Path;

use plotters::prelude::*;

use super::{label_for, legend_of};
use crate::engine::workload::RunRow;
use crate::error::{Error, Result};
use crate::suite::perf::{Measured, Op, PerfRow};

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
        context: "drawing a plot".into(),
        kind: std::io::ErrorKind::Other,
        message: e.to_string(),
    }
}

/// Grouped bars on a log scale: one group per category, one bar per series.
fn grouped_bars(
    path: &Path,
    title: &str,
    y_desc: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(1.0f64, f64::max)
        * 3.0;
    let min = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| *v > 0.0)
        .fold(max, f64::min)
        .max(1e-3)
        / 3.0;
    let n = categories.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..n, (min..max).log_scale())
        .map_err(plot_err)?;
    let cats = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc)
        .x_labels(categories.len() * 2 + 1)
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
    let k = series.len().max(1) as f64;
    let w = 0.8 / k;
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
            .map_err(plot_err)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
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

/// `cost-root-ops.svg`: root operations of rotation and revocation per design;
/// `cost-root-time.svg`: the time revoking `ak` everywhere takes at each root profile.
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
        "Root operations per event (log scale; 0 not drawn)",
        "root operations",
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
            (p.clone(), v)
        })
        .collect();
    let b = "cost-root-time.svg";
    grouped_bars(
        &dir.join(b),
        "Revoking the provider root everywhere: time of the root operations alone, per key-service profile",
        "seconds (log)",
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
        "Measured wall time on this machine (AES in software, no key-service latency)",
        "seconds (log)",
        &ds,
        &series,
    )?;
    Ok(vec![a.into(), b.into(), c.into()])
}

/// `sweep.svg`: root operations against leaves, log-log, one line per design and workload.
pub fn sweep_plot(sweep: &[(String, RunRow)], dir: &Path) -> Result<Option<String>> {
    if sweep.is_empty() {
        return Ok(None);
    }
    let name = "sweep.svg";
    let path = dir.join(name);
    let root = SVGBackend::new(&path, (1000, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let xs = sweep.iter().map(|(_, r)| r.leaves as f64);
    let (xmin, xmax) = xs.fold((f64::MAX, 1.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let ymax = sweep
        .iter()
        .map(|(_, r)| r.measured.root_ops as f64)
        .fold(1.0f64, f64::max)
        * 3.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Root operations as the hierarchy grows (log-log)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (xmin.max(1.0) / 1.5..xmax * 1.5).log_scale(),
            (0.5f64..ymax).log_scale(),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("leaves")
        .y_desc("root operations")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()
        .map_err(plot_err)?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for (_, r) in sweep {
        let k = (r.design.clone(), r.workload.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (i, (d, w)) in keys.iter().enumerate() {
        let color = COLORS[(i / 2) % COLORS.len()];
        let mut pts: Vec<(f64, f64)> = sweep
            .iter()
            .filter(|(_, r)| &r.design == d && &r.workload == w)
            .map(|(_, r)| (r.leaves as f64, (r.measured.root_ops as f64).max(0.5)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = if w.starts_with("revoke") {
            color.stroke_width(2)
        } else {
            color.stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(plot_err)?
            .label(format!("{d}: {w}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], style));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(Some(name.into()))
}

/// `batch-size.svg`: rewrap throughput per thread against batch size, one
/// line per fastkw backend, with the `aes-kw` loop and the ceiling for scale.
pub fn batch_plot(rows: &[PerfRow], dir: &Path) -> Result<String> {
    const REWRAP: Measured = Measured::Primitive(Op::Rewrap);
    let name = "batch-size.svg";
    let path = dir.join(name);
    let root = SVGBackend::new(&path, (1000, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let rates: Vec<f64> = rows.iter().map(|r| r.keys_per_s_per_thread).collect();
    let ymax = rates.iter().copied().fold(1.0, f64::max) * 2.0;
    let ymin = rates.iter().copied().fold(f64::MAX, f64::min).max(1.0) / 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Rewraps per second on one thread against batch size (log-log)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((0.8f64..1400.0).log_scale(), (ymin..ymax).log_scale())
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("keys per batch")
        .y_desc("rewraps per second")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
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
    for (i, imp) in imps.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.what == REWRAP && &r.implementation == imp)
            .map(|r| (r.batch as f64, r.keys_per_s_per_thread))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(imp.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(plot_err)?;
    }
    let flat = |label: &str, rate: f64, color: RGBColor| (label.to_string(), rate, color);
    let mut lines = Vec::new();
    if let Some(r) = rows
        .iter()
        .find(|r| r.what == REWRAP && r.implementation == "aes-kw loop")
    {
        lines.push(flat(
            "aes-kw, one key at a time",
            r.keys_per_s_per_thread,
            BLACK,
        ));
    }
    if let Some(r) = rows
        .iter()
        .filter(|r| r.what == Measured::Ceiling)
        .max_by(|a, b| a.keys_per_s_per_thread.total_cmp(&b.keys_per_s_per_thread))
    {
        lines.push(flat(
            "ceiling: 48 pipelined AES-256 blocks",
            r.keys_per_s_per_thread,
            RGBColor(120, 120, 120),
        ));
    }
    for (label, rate, color) in lines {
        chart
            .draw_series(LineSeries::new(
                vec![(0.8, rate), (1400.0, rate)],
                color.stroke_width(1),
            ))
            .map_err(plot_err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(1))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(name.into())
}
