//! Benchmark workload files (`streamspec bench`'s TOML) from fuzz bytes: parse, and every
//! accepted workload keeps every documented limit. Must never panic.
//!
//! Method: the bytes are decoded lossily (the real reader, `Workload::read`, refuses
//! non-UTF-8 earlier with a typed I/O error). A parse error must render a message that names
//! its origin (syntax) or its field (a value out of range). A workload that parses is checked
//! here again, independently of `Workload::check`, against the limit constants
//! `harness/src/bench/workload.rs` and the model's config declare, for the workload itself and
//! for every point its sweep expands to: a limit the parser forgot to check is a finding.

use streamspec::bench::workload::{
    Point, Rate, Workload, WorkloadError, BACKLOG_RECORDS_LIMIT, DURATION_S_MAX, PRODUCERS_MAX,
    RECORD_BYTES_MAX, RECORD_BYTES_MIN, REPEATS_MAX, SWEEP_POINTS_MAX,
};
use streamspec_model::config::{
    BATCH_RECORDS_MAX, GROUPS_COUNT_MAX, GROUP_MEMBERS_MAX, MAX_MESSAGE_BYTES_DEFAULT,
    PARTITIONS_PER_TOPIC_MAX, TOPIC_NAME_LENGTH_MAX,
};
use streamspec_model::record::RECORD_OVERHEAD_BYTES;

/// What names the fuzz input in errors.
pub const ORIGIN: &str = "fuzz-workload.toml";

/// An accepted workload that breaks a documented limit (a panic in the target).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitViolation {
    /// The field, as a TOML path; `points[i].<field>` for a value of one sweep point.
    pub field: String,
    /// The value and the limit it breaks.
    pub why: String,
}

fn violation(field: impl Into<String>, why: impl Into<String>) -> LimitViolation {
    LimitViolation {
        field: field.into(),
        why: why.into(),
    }
}

fn within(field: &str, value: usize, min: usize, max: usize) -> Result<(), LimitViolation> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(violation(field, format!("{value} is not in {min}..={max}")))
    }
}

/// Whether `name` is a legal Kafka topic name (docs/model.md, Topics), restated here so the
/// check does not trust the code it checks.
fn topic_name_is_legal(name: &str) -> bool {
    (1..=TOPIC_NAME_LENGTH_MAX).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks one point (the workload with one sweep position applied) against every limit.
fn check_point_limits(point: &Point, at: &str) -> Result<(), LimitViolation> {
    let field = |name: &str| format!("{at}{name}");
    for (i, topic) in point.topics.iter().enumerate() {
        within(
            &field(&format!("topics[{i}].partitions")),
            topic.partitions,
            1,
            PARTITIONS_PER_TOPIC_MAX as usize,
        )?;
    }
    within(&field("producers"), point.producers, 1, PRODUCERS_MAX)?;
    within(
        &field("record_bytes"),
        point.record_bytes,
        RECORD_BYTES_MIN,
        RECORD_BYTES_MAX,
    )?;
    within(
        &field("batch_records"),
        point.batch_records,
        1,
        BATCH_RECORDS_MAX,
    )?;
    // Both factors are bounded above, so this product cannot overflow a u64.
    let batch_bytes =
        point.batch_records as u64 * (point.record_bytes as u64 + RECORD_OVERHEAD_BYTES);
    if batch_bytes > MAX_MESSAGE_BYTES_DEFAULT {
        return Err(violation(
            field("batch_records"),
            format!("a batch of {batch_bytes} bytes is over {MAX_MESSAGE_BYTES_DEFAULT}"),
        ));
    }
    within(&field("groups"), point.groups, 0, GROUPS_COUNT_MAX)?;
    within(
        &field("members_per_group"),
        point.members_per_group,
        1,
        GROUP_MEMBERS_MAX,
    )?;
    if let Rate::RecordsPerS(rate) = point.rate_records_per_s {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(violation(
                field("rate_records_per_s"),
                format!("{rate} is not a positive finite number"),
            ));
        }
    }
    if !(point.warmup_s.is_finite() && (0.0..=DURATION_S_MAX).contains(&point.warmup_s)) {
        return Err(violation(
            field("warmup_s"),
            format!("{} is not in 0..={DURATION_S_MAX}", point.warmup_s),
        ));
    }
    if !(point.duration_s.is_finite()
        && point.duration_s > 0.0
        && point.duration_s <= DURATION_S_MAX)
    {
        return Err(violation(
            field("duration_s"),
            format!("{} is not in (0, {DURATION_S_MAX}]", point.duration_s),
        ));
    }
    if !(point.batch_records as u64..=BACKLOG_RECORDS_LIMIT).contains(&point.backlog_records_max)
    {
        return Err(violation(
            field("backlog_records_max"),
            format!(
                "{} is not in batch_records..={BACKLOG_RECORDS_LIMIT}",
                point.backlog_records_max
            ),
        ));
    }
    Ok(())
}

/// Checks an accepted workload against every documented limit, its sweep points included.
pub fn check_workload_limits(workload: &Workload) -> Result<(), LimitViolation> {
    if workload.name.is_empty()
        || !workload
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(violation(
            "name",
            format!("{:?} cannot name output files", workload.name),
        ));
    }
    if workload.topics.is_empty() {
        return Err(violation("topics", "no topic"));
    }
    for (i, topic) in workload.topics.iter().enumerate() {
        if !topic_name_is_legal(&topic.name) {
            return Err(violation(
                format!("topics[{i}].name"),
                format!("{:?} is not a legal topic name", topic.name),
            ));
        }
        if workload.topics[..i].iter().any(|t| t.name == topic.name) {
            return Err(violation(
                format!("topics[{i}].name"),
                format!("{:?} is named twice", topic.name),
            ));
        }
    }
    within("repeats", workload.repeats, 1, REPEATS_MAX)?;
    if let Some(sweep) = &workload.sweep {
        let lists = sweep.lists();
        if lists.is_empty() {
            return Err(violation("sweep", "sweeps nothing"));
        }
        for (name, list) in &lists {
            within(&format!("sweep.{name}"), list.len(), 1, SWEEP_POINTS_MAX)?;
            if list.len() != lists[0].1.len() {
                return Err(violation(
                    format!("sweep.{name}"),
                    "lists of different lengths cannot be zipped",
                ));
            }
        }
    }
    let points = workload.points();
    within("points", points.len(), 1, SWEEP_POINTS_MAX)?;
    for (i, point) in points.iter().enumerate() {
        check_point_limits(point, &format!("points[{i}]."))?;
    }
    Ok(())
}

/// Parses `data` as a workload file; `Err` if an accepted workload breaks a limit.
pub fn check_workload_bytes(data: &[u8]) -> Result<(), LimitViolation> {
    let text = String::from_utf8_lossy(data);
    match Workload::parse(&text, ORIGIN) {
        Ok(workload) => check_workload_limits(&workload),
        Err(error) => {
            // The message is what a user sees; building it must not panic either, and it
            // must say where the problem is.
            let message = error.to_string();
            match &error {
                WorkloadError::Syntax { .. } => {
                    assert!(message.starts_with(ORIGIN), "{message}");
                }
                WorkloadError::Invalid { field, .. } => {
                    assert!(!field.is_empty(), "{message}");
                    assert!(message.contains(field.as_str()), "{message}");
                }
                WorkloadError::Io { .. } => panic!("parsing text does no I/O: {message}"),
            }
            Ok(())
        }
    }
}

/// The `workload_parser` target.
pub fn fuzz_workload_parser(data: &[u8]) {
    if let Err(failure) = check_workload_bytes(data) {
        panic!("{failure:?}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn shipped_workloads() -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
        assert!(!files.is_empty(), "workloads/ should hold the shipped files");
        files
    }

    #[test]
    fn shipped_workloads_parse_within_their_limits() {
        // Goal: the target accepts real workloads (the seed corpus) and finds them within
        // their limits. Method: every file under workloads/ through the parser and the check.
        for (path, bytes) in shipped_workloads() {
            let text = String::from_utf8(bytes).unwrap();
            let workload = Workload::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
            check_workload_limits(&workload).unwrap_or_else(|v| panic!("{path}: {v:?}"));
        }
    }

    #[test]
    fn a_planted_limit_violation_is_caught() {
        // Goal: the check has teeth. Method: take an accepted workload and break one limit at
        // a time after parsing (as a parser that forgot a check would let through); each must
        // be named.
        let (_, bytes) = shipped_workloads()
            .into_iter()
            .find(|(path, _)| path.ends_with("fan-out-8b.toml"))
            .expect("workloads/fan-out-8b.toml");
        let good = Workload::parse(std::str::from_utf8(&bytes).unwrap(), "w.toml").unwrap();
        check_workload_limits(&good).unwrap();
        /// Breaks one limit of an accepted workload.
        type Plant = Box<dyn Fn(&mut Workload)>;
        let plants: Vec<(&str, Plant)> = vec![
            ("repeats", Box::new(|w| w.repeats = REPEATS_MAX + 1)),
            ("repeats", Box::new(|w| w.repeats = 0)),
            ("name", Box::new(|w| w.name = "../x".into())),
            ("topics[0].name", Box::new(|w| w.topics[0].name = "..".into())),
            (
                "points[0].producers",
                Box::new(|w| w.producers = PRODUCERS_MAX + 1),
            ),
            (
                "points[0].backlog_records_max",
                Box::new(|w| w.backlog_records_max = BACKLOG_RECORDS_LIMIT + 1),
            ),
            ("points[0].duration_s", Box::new(|w| w.duration_s = f64::NAN)),
            (
                "points[0].rate_records_per_s",
                Box::new(|w| w.rate_records_per_s = Rate::RecordsPerS(f64::INFINITY)),
            ),
            (
                "points[3].groups",
                Box::new(|w| {
                    w.sweep.as_mut().unwrap().groups = Some(vec![1, 2, 4, GROUPS_COUNT_MAX + 1]);
                }),
            ),
            (
                "sweep.groups",
                Box::new(|w| {
                    w.sweep.as_mut().unwrap().groups = Some(vec![1; SWEEP_POINTS_MAX + 1]);
                }),
            ),
        ];
        for (field, plant) in plants {
            let mut bad = good.clone();
            plant(&mut bad);
            let found = check_workload_limits(&bad).expect_err(field);
            assert!(found.field.starts_with(field), "{field}: {found:?}");
        }
    }

    #[test]
    fn malformed_and_truncated_workloads_are_refused_without_panicking() {
        // Goal: typical bad input returns. Method: a shipped file cut at every byte, and
        // files of the wrong shape.
        let (_, bytes) = shipped_workloads().remove(0);
        for cut in 0..bytes.len() {
            check_workload_bytes(&bytes[..cut]).unwrap();
        }
        for bad in [
            &b"\xff\xfe"[..],
            b"name = 7",
            b"repeats = 18446744073709551616",
            b"repeats = -1",
            b"duration_s = nan\nwarmup_s = inf",
            b"[[topics]]\n[[topics]]\n[sweep]\n[sweep]",
        ] {
            check_workload_bytes(bad).unwrap();
        }
    }
}
