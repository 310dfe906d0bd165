//! Counterexamples a person can read: a text timeline (processes as rows, ops as bars) and
//! an HTML page with the same timeline as SVG.
//!
//! ```text
//! p1 |[#3=====]        [#7==]
//! p2 |    [#5=============]
//! p3 |              !#9!!!!!!!!]
//! ```
//! Time runs left to right by *order* of events, not by their spacing, so short and long
//! gaps take the same room and every overlap stays visible. The flagged ops (the culprit, or
//! the ops an anomaly names) are drawn with `!`. Each bar's number refers to the legend below
//! the rows, which gives the op and its outcome.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::history::{History, Operation, Outcome};

/// Longest op or outcome text in a legend line, in chars.
const LEGEND_TEXT_MAX: usize = 160;

/// One line describing an op and its outcome.
pub fn describe(operation: &Operation) -> String {
    let op = serde_json::to_string(&operation.op).unwrap_or_else(|_| operation.op.name().into());
    let outcome = match &operation.outcome {
        Outcome::Ok(reply) => {
            format!("ok {}", serde_json::to_string(reply).unwrap_or_default())
        }
        Outcome::Fail(code) => format!("fail {}", code.name()),
        Outcome::Info => "info (unknown)".into(),
    };
    format!(
        "{} -> {}",
        shorten(&op, LEGEND_TEXT_MAX),
        shorten(&outcome, LEGEND_TEXT_MAX)
    )
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// The ops to draw: `ids`, sorted and unique, and the column of each event time.
fn layout(history: &History, ids: &[usize]) -> (Vec<usize>, BTreeMap<u64, usize>) {
    let mut ids: Vec<usize> = ids
        .iter()
        .copied()
        .filter(|&i| i < history.ops.len())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut times: Vec<u64> = Vec::new();
    for &i in &ids {
        let o = &history.ops[i];
        times.push(o.invoke_ns);
        if let Some(t) = o.complete_ns {
            times.push(t);
        }
    }
    times.sort_unstable();
    times.dedup();
    let columns = times.into_iter().enumerate().map(|(i, t)| (t, i)).collect();
    (ids, columns)
}

/// The text timeline of ops `ids`, with `flagged` drawn in `!`.
pub fn text(history: &History, ids: &[usize], flagged: &[usize]) -> String {
    let (ids, columns) = layout(history, ids);
    // Width per event: room for a bar's label between close events.
    let step = 4usize;
    let width = (columns.len() + 1) * step + 8;
    let mut rows: BTreeMap<u64, Vec<char>> = BTreeMap::new();
    for &i in &ids {
        let o = &history.ops[i];
        let row = rows.entry(o.process).or_insert_with(|| vec![' '; width]);
        let start = columns[&o.invoke_ns] * step;
        let (end, open) = match o.complete_ns {
            Some(t) => (columns[&t] * step, !o.outcome.is_known()),
            None => (width - 2, true),
        };
        let end = end.max(start + 2);
        let (fill, left) = if flagged.contains(&i) {
            ('!', '!')
        } else {
            ('=', '[')
        };
        for cell in row.iter_mut().take(end).skip(start) {
            *cell = fill;
        }
        row[start] = left;
        row[end] = if open { '>' } else { ']' };
        let label: Vec<char> = format!("#{i}").chars().collect();
        for (k, c) in label.iter().enumerate() {
            if start + 1 + k < end {
                row[start + 1 + k] = *c;
            }
        }
    }
    let mut out = String::new();
    for (process, row) in &rows {
        let line: String = row.iter().collect();
        let _ = writeln!(out, "p{process:<3}|{}", line.trim_end());
    }
    out.push('\n');
    for &i in &ids {
        let o = &history.ops[i];
        let mark = if flagged.contains(&i) { "!" } else { " " };
        let _ = writeln!(out, "{mark}#{i:<6} p{:<3} {}", o.process, describe(o));
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML page: `title`, `summary` lines, the timeline as SVG (hover a bar for its op) and
/// the legend.
pub fn html(
    history: &History,
    ids: &[usize],
    flagged: &[usize],
    title: &str,
    summary: &[String],
) -> String {
    let (ids, columns) = layout(history, ids);
    let processes: Vec<u64> = {
        let mut p: Vec<u64> = ids.iter().map(|&i| history.ops[i].process).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let (column_px, row_px, margin_px) = (24usize, 28usize, 60usize);
    let width = margin_px + (columns.len() + 2) * column_px;
    let height = processes.len() * row_px + 20;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"11\">\n"
    );
    for (row, process) in processes.iter().enumerate() {
        let y = 10 + row * row_px;
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{}\">p{process}</text><line x1=\"{margin_px}\" x2=\"{width}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
            y + 15,
            y + 10,
            y + 10
        );
    }
    for &i in &ids {
        let o = &history.ops[i];
        let row = processes.binary_search(&o.process).unwrap_or(0);
        let y = 10 + row * row_px;
        let x0 = margin_px + columns[&o.invoke_ns] * column_px;
        let x1 = match o.complete_ns {
            Some(t) => margin_px + columns[&t] * column_px,
            None => width - 4,
        }
        .max(x0 + 8);
        let colour = match (&o.outcome, flagged.contains(&i)) {
            (_, true) => "#e4572e",
            (Outcome::Ok(_), _) => "#76b041",
            (Outcome::Fail(_), _) => "#f3a712",
            (Outcome::Info, _) => "#9e9e9e",
        };
        let _ = writeln!(
            svg,
            "<g><title>#{i} p{} {}</title><rect x=\"{x0}\" y=\"{y}\" width=\"{}\" height=\"20\" rx=\"3\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">#{i}</text></g>",
            o.process,
            escape(&describe(o)),
            x1 - x0,
            x0 + 3,
            y + 14
        );
    }
    svg.push_str("</svg>\n");
    let mut page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>body{{font-family:sans-serif;margin:2em}} td{{font-family:monospace;padding:2px 8px;vertical-align:top}} .flag{{color:#e4572e;font-weight:bold}}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    for line in summary {
        let _ = writeln!(page, "<p>{}</p>", escape(line));
    }
    page.push_str("<p>Processes are rows, ops are bars, time runs left to right by order of events. Green: ok, orange: fail, grey: unknown, red: flagged. Hover a bar for its op.</p>\n");
    page.push_str(&svg);
    page.push_str("<table>\n");
    for &i in &ids {
        let o = &history.ops[i];
        let class = if flagged.contains(&i) {
            " class=\"flag\""
        } else {
            ""
        };
        let _ = writeln!(
            page,
            "<tr{class}><td>#{i}</td><td>p{}</td><td>{}</td></tr>",
            o.process,
            escape(&describe(o))
        );
    }
    page.push_str("</table>\n</body></html>\n");
    page
}

/// The ops to show for a finding: the flagged ops and, for context, up to `context` ops of
/// the same partitions or processes invoked just before the first of them.
pub fn context_ids(history: &History, flagged: &[usize], context: usize) -> Vec<usize> {
    let Some(&first) = flagged.iter().min() else {
        return Vec::new();
    };
    let processes: Vec<u64> = flagged.iter().map(|&i| history.ops[i].process).collect();
    let mut ids: Vec<usize> = history.ops[..first]
        .iter()
        .rev()
        .filter(|o| processes.contains(&o.process))
        .take(context)
        .map(|o| o.id)
        .collect();
    ids.extend_from_slice(flagged);
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::{Op, Reply};

    #[test]
    fn bars_overlap_as_the_ops_did_and_flagged_ops_stand_out() {
        // Goal: a reader can see which ops overlapped and which is flagged. Method: two
        // overlapping ops and a later one; check the bar positions and the legend.
        let mut history = History::sequential([
            (Op::Tick { ms: 1 }, Ok(Reply::Ack)),
            (Op::Tick { ms: 2 }, Ok(Reply::Ack)),
            (
                Op::Tick { ms: 3 },
                Err(streamspec_model::ErrorCode::InvalidRequest),
            ),
        ]);
        // op 0 [0, 10], op 1 [5, 15] on another process, op 2 [20, 30].
        history.ops[0].complete_ns = Some(10);
        history.ops[1].process = 1;
        history.ops[1].invoke_ns = 5;
        history.ops[1].complete_ns = Some(15);
        history.ops[2].invoke_ns = 20;
        history.ops[2].complete_ns = Some(30);
        let out = text(&history, &[0, 1, 2], &[2]);
        let rows: Vec<&str> = out.lines().take(2).collect();
        assert!(rows[0].starts_with("p0  |[#0"), "{out}");
        assert!(rows[1].starts_with("p1  |    [#1"), "{out}");
        let start1 = rows[1].find('[').unwrap();
        let end0 = rows[0].find(']').unwrap();
        assert!(start1 < end0, "op 1 starts before op 0 ends:\n{out}");
        assert!(rows[0].contains("!#2!"), "{out}");
        assert!(out.contains("!#2"), "{out}");
        assert!(out.contains("fail invalid_request"), "{out}");
        let page = html(&history, &[0, 1, 2], &[2], "t <1>", &["why".into()]);
        assert!(page.contains("<svg") && page.contains("t &lt;1&gt;"));
        assert_eq!(page.matches("<rect").count(), 3);
    }
}
