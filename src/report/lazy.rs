//! A lazy key roll over time as text and as an SVG: the wraps still under the
//! old root version day by day, when the old version can be destroyed, and
//! what its leak would expose each day. Rows in, text out; the figures come
//! from [`crate::analysis::lazy`].

use std::fmt::Write;

use plotters::prelude::*;

use crate::analysis::lazy::{LazyCurve, LazyDay};
use crate::error::{Error, Result};
use crate::report::markdown::pct;

/// The days the text shows (and the last one).
const SHOWN: [u32; 9] = [0, 1, 2, 3, 7, 14, 30, 60, 90];

/// The curve as text for `run --lazy`.
pub fn lazy_text(c: &LazyCurve) -> String {
    let mut s = String::new();
    let m = &c.model;
    let _ = writeln!(
        s,
        "\nlazy roll over time ({}access model: {} of active leaves touched a day, {} never touched{}):",
        if c.assumed { "ASSUMED " } else { "" },
        pct(m.touched_per_day),
        pct(m.never_touched),
        m.sweep_day
            .map_or_else(String::new, |d| format!(", a sweep on day {d}"))
    );
    let _ = writeln!(
        s,
        "{:>6} {:>14} {:>10} {:>16} {:>22}",
        "day", "old wraps", "of all", "P(none left)", "a leak of it exposes"
    );
    let last = c.days.last().map_or(0, |d| d.day);
    for d in c
        .days
        .iter()
        .filter(|d| SHOWN.contains(&d.day) || d.day == last)
    {
        let _ = writeln!(
            s,
            "{:>6} {:>14.1} {:>10} {:>16.4} {:>15.1} leaves",
            d.day,
            d.old_wraps,
            pct(d.old_share),
            d.p_none_left,
            d.leak_exposes
        );
    }
    let _ = writeln!(
        s,
        "{} of {} wraps stay under the old version for good (below only never-touched leaves); the old version can be destroyed (P(none left) >= 99%) {}",
        format_args!("{:.1}", c.tail_wraps),
        c.wraps,
        c.destroy_day_p99.map_or_else(
            || format!("not within {last} days: a sweep must rewrap the rest"),
            |d| format!("from day {d}")
        )
    );
    s
}

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Io {
        context: "drawing the lazy-roll plot".into(),
        kind: std::io::ErrorKind::Other,
        message: e.to_string(),
    }
}

/// The curve as an SVG: the share of wraps still under the old version, the
/// probability none is left, and the share of leaves a leak would expose.
pub fn lazy_svg(c: &LazyCurve) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let last = c.days.last().map_or(1, |d| d.day.max(1));
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: lazy rotate-root {} {} over {last} days",
                    c.design,
                    c.role,
                    c.extent.name()
                ),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0u32..last, 0f64..1.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("days since the rotation")
            .y_desc("share")
            .draw()
            .map_err(plot_err)?;
        let leaves = c.leaves.max(1) as f64;
        let series: [(&str, RGBColor); 3] = [
            ("wraps still under the old version", RGBColor(31, 119, 180)),
            (
                "P(no wrap left): the old version can go",
                RGBColor(44, 160, 44),
            ),
            (
                "leaves a leak of the old version exposes",
                RGBColor(214, 39, 40),
            ),
        ];
        let value = |i: usize, d: &LazyDay| match i {
            0 => d.old_share,
            1 => d.p_none_left,
            _ => d.leak_exposes / leaves,
        };
        for (i, (name, color)) in series.into_iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    c.days.iter().map(|d| (d.day, value(i, d))),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
