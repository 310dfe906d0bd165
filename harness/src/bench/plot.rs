//! The SVG plot of a sweep: throughput (median over repeats) against the swept quantity.
//!
//! The x axis is the consumer count (groups x members) when the sweep changes groups or
//! members, else the first swept field. Two lines: records consumed per second (deliveries,
//! summed over groups) and records produced per second. A point of each repeat is drawn
//! under the median line, so the noise shows.

use plotters::prelude::*;

use crate::bench::results::Results;

/// Plot size in pixels.
const PLOT_SIZE: (u32, u32) = (900, 540);

/// What the x axis shows, and each point's x value.
fn x_axis(results: &Results) -> (String, Vec<f64>) {
    let swept_consumers = results
        .points
        .iter()
        .any(|p| p.swept.contains_key("groups") || p.swept.contains_key("members_per_group"));
    let first_swept = results
        .points
        .first()
        .and_then(|p| p.swept.keys().next().cloned());
    match first_swept {
        Some(key) if !swept_consumers => (
            key.clone(),
            results
                .points
                .iter()
                .map(|p| p.swept.get(&key).copied().unwrap_or(0) as f64)
                .collect(),
        ),
        _ => (
            "consumers (groups x members)".into(),
            results.points.iter().map(|p| p.consumers as f64).collect(),
        ),
    }
}

/// Draw `results` as SVG text.
pub fn svg(results: &Results) -> Result<String, String> {
    let (x_label, xs) = x_axis(results);
    let series = |f: &dyn Fn(&crate::bench::runner::RunResult) -> f64| -> Vec<Vec<f64>> {
        results
            .points
            .iter()
            .map(|p| p.runs.iter().map(|r| f(r) / 1e6).collect())
            .collect()
    };
    let consumed_runs = series(&|r| r.consumed_records_per_s);
    let produced_runs = series(&|r| r.produced_records_per_s);
    let consumed: Vec<f64> = results
        .points
        .iter()
        .map(|p| p.median.consumed_records_per_s / 1e6)
        .collect();
    let produced: Vec<f64> = results
        .points
        .iter()
        .map(|p| p.median.produced_records_per_s / 1e6)
        .collect();
    let x_max = xs.iter().copied().fold(1.0, f64::max);
    let x_min = xs.iter().copied().fold(x_max, f64::min);
    let y_max = consumed_runs
        .iter()
        .chain(&produced_runs)
        .flatten()
        .copied()
        .fold(1.0, f64::max)
        * 1.1;

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, PLOT_SIZE).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| format!("drawing the plot: {e}");
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let title = format!(
            "{} on {} ({} cores)",
            results.workload, results.machine.cpu_model, results.machine.cores
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_min.min(x_max - 1.0).max(0.0)..x_max + 0.5, 0.0..y_max)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("million records/s")
            .draw()
            .map_err(|e| fail(&e))?;
        for (name, medians, runs, color) in [
            ("consumed/s (all groups)", &consumed, &consumed_runs, BLUE),
            ("produced/s", &produced, &produced_runs, RED),
        ] {
            chart
                .draw_series(LineSeries::new(
                    xs.iter().copied().zip(medians.iter().copied()),
                    color.stroke_width(2),
                ))
                .map_err(|e| fail(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(xs.iter().zip(runs.iter()).flat_map(|(&x, ys)| {
                    ys.iter()
                        .map(move |&y| Circle::new((x, y), 3, color.mix(0.5).filled()))
                }))
                .map_err(|e| fail(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(text)
}
