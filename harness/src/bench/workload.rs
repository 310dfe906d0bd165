//! The workload file of `streamspec bench`: what to run, in TOML (not to be confused with
//! [`crate::workload`], the seeded client workloads of recorded histories).
//!
//! ```toml
//! name = "independent-consumers-scale"      # names the results and the plot
//! description = "groups added one at a time" # optional
//! producers = 1                   # producer threads
//! record_bytes = 64               # value size; 8 carries only the timestamp
//! batch_records = 100             # records per produce call and most per fetch
//! rate_records_per_s = "unlimited" # or a number: the total target rate of all producers
//! groups = 1                      # independent consumer groups, each reading every record
//! members_per_group = 1           # members sharing each group's partitions
//! warmup_s = 1.0                  # run, but do not measure, this long first
//! duration_s = 5.0                # then measure this long
//! repeats = 3                     # runs per point; results report medians (optional, 1)
//! backlog_records_max = 1000000   # producers wait when a partition holds this many (optional)
//!
//! [[topics]]                      # one or more; every group subscribes to all of them
//! name = "orders"
//! partitions = 1
//!
//! [sweep]                         # optional: one run (x repeats) per position in the lists
//! groups = [1, 2, 3, 4]           # keys: producers, groups, members_per_group, partitions,
//!                                 # record_bytes, batch_records; lists of equal length, zipped
//! ```
//!
//! Every field is checked when the file is read, and a bad one is named in the error
//! ([`WorkloadError`]): unknown keys are refused (a typo cannot fall back to a default), and
//! each value's range is stated beside its field below.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use streamspec_model::config::{
    BATCH_RECORDS_MAX, GROUPS_COUNT_MAX, GROUP_MEMBERS_MAX, PARTITIONS_PER_TOPIC_MAX,
};

/// Smallest record: the 8-byte produce timestamp every record carries.
pub const RECORD_BYTES_MIN: usize = 8;
/// Records of at least this size also carry a per-producer sequence number, checked in order.
pub const RECORD_BYTES_SEQUENCED_MIN: usize = 16;
/// Largest record: 1 MiB, below the default `max_message_bytes` with the overhead.
pub const RECORD_BYTES_MAX: usize = 1 << 20;
/// Most producer threads.
pub const PRODUCERS_MAX: usize = 64;
/// Longest warm-up or measured duration: one hour.
pub const DURATION_S_MAX: f64 = 3_600.0;
/// Most repeats per point.
pub const REPEATS_MAX: usize = 100;
/// Most records a partition may hold before producers wait: 2 Mi less room for one full
/// batch, a bound on a run's memory (the engine's own cap, `RETAINED_RECORDS_MAX`, is about
/// 2^30 records; it was 2 Mi when this bound was set).
pub const BACKLOG_RECORDS_LIMIT: u64 = 2_097_152 - BATCH_RECORDS_MAX as u64;
/// Default backlog: 1 Mi records per partition.
pub const BACKLOG_RECORDS_DEFAULT: u64 = 1 << 20;
/// Most points in a sweep.
pub const SWEEP_POINTS_MAX: usize = 64;

/// A topic of the workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic's name (a legal Kafka topic name).
    pub name: String,
    /// Its partitions, `1..=PARTITIONS_PER_TOPIC_MAX`.
    pub partitions: usize,
}

/// The target produce rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Rate {
    /// As fast as the producers can (bounded by the backlog).
    Unlimited,
    /// This many records per second in total, spread evenly over the producers.
    RecordsPerS(f64),
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rate, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Word(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(rate) => Ok(Rate::RecordsPerS(rate)),
            Repr::Word(word) if word == "unlimited" => Ok(Rate::Unlimited),
            Repr::Word(word) => Err(serde::de::Error::custom(format!(
                "expected a number or \"unlimited\", found {word:?}"
            ))),
        }
    }
}

/// The lists of a sweep, zipped: point `i` sets each named field to its list's `i`-th value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Producer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producers: Option<Vec<usize>>,
    /// Group counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<usize>>,
    /// Members per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_per_group: Option<Vec<usize>>,
    /// Partitions of every topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<usize>>,
    /// Record sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_bytes: Option<Vec<usize>>,
    /// Batch sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_records: Option<Vec<usize>>,
}

impl Sweep {
    /// The swept fields and their lists, in a fixed order.
    pub fn lists(&self) -> Vec<(&'static str, &[usize])> {
        [
            ("producers", &self.producers),
            ("groups", &self.groups),
            ("members_per_group", &self.members_per_group),
            ("partitions", &self.partitions),
            ("record_bytes", &self.record_bytes),
            ("batch_records", &self.batch_records),
        ]
        .into_iter()
        .filter_map(|(name, list)| list.as_deref().map(|l| (name, l)))
        .collect()
    }
}

fn default_repeats() -> usize {
    1
}

fn default_backlog() -> u64 {
    BACKLOG_RECORDS_DEFAULT
}

/// A workload file, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Names the results and the plot.
    pub name: String,
    /// What it models.
    #[serde(default)]
    pub description: String,
    /// Topics; every group subscribes to all.
    pub topics: Vec<TopicSpec>,
    /// Producer threads, `1..=PRODUCERS_MAX`.
    pub producers: usize,
    /// Value bytes, `RECORD_BYTES_MIN..=RECORD_BYTES_MAX`.
    pub record_bytes: usize,
    /// Records per produce call and most per fetch, `1..=BATCH_RECORDS_MAX`.
    pub batch_records: usize,
    /// Target rate of all producers together.
    pub rate_records_per_s: Rate,
    /// Consumer groups, `0..=GROUPS_COUNT_MAX` (0: produce only).
    pub groups: usize,
    /// Members per group, `1..=GROUP_MEMBERS_MAX`.
    pub members_per_group: usize,
    /// Seconds run before measuring, `0..=DURATION_S_MAX`.
    pub warmup_s: f64,
    /// Seconds measured, `(0, DURATION_S_MAX]`.
    pub duration_s: f64,
    /// Runs per point, `1..=REPEATS_MAX`.
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    /// Records a partition may hold before producers wait, `batch_records..=BACKLOG_RECORDS_LIMIT`.
    #[serde(default = "default_backlog")]
    pub backlog_records_max: u64,
    /// Optional sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
}

/// Why a workload file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadError {
    /// The file could not be read.
    Io {
        /// The path.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// Not TOML, an unknown key, a missing field or a value of the wrong type; the message
    /// names the key and shows the line.
    Syntax {
        /// The path, or `<string>`.
        path: String,
        /// The TOML parser's message.
        message: String,
    },
    /// A value out of its range, or fields that do not fit together.
    Invalid {
        /// The field, as a TOML path (`topics[0].partitions`, `sweep.groups[2]`).
        field: String,
        /// What is wrong and what is allowed.
        why: String,
    },
}

impl std::fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkloadError::Io { path, message } => write!(f, "{path}: {message}"),
            WorkloadError::Syntax { path, message } => {
                write!(f, "{path}: {}", message.trim_end())
            }
            WorkloadError::Invalid { field, why } => write!(f, "field `{field}`: {why}"),
        }
    }
}

impl std::error::Error for WorkloadError {}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> WorkloadError {
    WorkloadError::Invalid {
        field: field.into(),
        why: why.into(),
    }
}

fn check_range(field: &str, value: usize, min: usize, max: usize) -> Result<(), WorkloadError> {
    if value < min || value > max {
        return Err(invalid(field, format!("{value} is not in {min}..={max}")));
    }
    Ok(())
}

/// Whether `name` is a legal Kafka topic name (docs/model.md, Topics).
fn topic_name_is_legal(name: &str) -> bool {
    (1..=streamspec_model::config::TOPIC_NAME_LENGTH_MAX).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// One point of a workload: every sweep value applied. What the runner runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Topics and their partitions.
    pub topics: Vec<TopicSpec>,
    /// Producer threads.
    pub producers: usize,
    /// Value bytes.
    pub record_bytes: usize,
    /// Records per produce and most per fetch.
    pub batch_records: usize,
    /// Target rate.
    pub rate_records_per_s: Rate,
    /// Groups.
    pub groups: usize,
    /// Members per group.
    pub members_per_group: usize,
    /// Warm-up seconds.
    pub warmup_s: f64,
    /// Measured seconds.
    pub duration_s: f64,
    /// Most records held per partition before producers wait.
    pub backlog_records_max: u64,
    /// The swept fields and their values at this point (empty without a sweep).
    pub swept: BTreeMap<String, usize>,
}

impl Point {
    /// Consumer threads: groups times members.
    pub fn consumers(&self) -> usize {
        self.groups * self.members_per_group
    }

    /// Partitions over all topics.
    pub fn partitions_total(&self) -> usize {
        self.topics.iter().map(|t| t.partitions).sum()
    }

    /// A short label: the swept values (`groups=2`), or `base` without a sweep.
    pub fn label(&self) -> String {
        if self.swept.is_empty() {
            return "base".into();
        }
        self.swept
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Workload {
    /// Read and check a workload file.
    pub fn read(path: &Path) -> Result<Workload, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|e| WorkloadError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Workload::parse(&text, &path.display().to_string())
    }

    /// Parse and check workload text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Workload, WorkloadError> {
        let workload: Workload = toml::from_str(text).map_err(|e| WorkloadError::Syntax {
            path: origin.into(),
            message: e.to_string(),
        })?;
        workload.check()?;
        Ok(workload)
    }

    /// Check every field's range and that the points of the sweep are valid.
    pub fn check(&self) -> Result<(), WorkloadError> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(invalid(
                "name",
                "must be non-empty and use only [a-zA-Z0-9._-] (it names output files)",
            ));
        }
        if self.topics.is_empty() {
            return Err(invalid("topics", "at least one [[topics]] table is needed"));
        }
        for (i, topic) in self.topics.iter().enumerate() {
            if !topic_name_is_legal(&topic.name) {
                return Err(invalid(
                    format!("topics[{i}].name"),
                    format!("{:?} is not a legal topic name", topic.name),
                ));
            }
            if self.topics[..i].iter().any(|t| t.name == topic.name) {
                return Err(invalid(
                    format!("topics[{i}].name"),
                    format!("{:?} is named twice", topic.name),
                ));
            }
        }
        if self.repeats == 0 || self.repeats > REPEATS_MAX {
            return Err(invalid(
                "repeats",
                format!("{} is not in 1..={REPEATS_MAX}", self.repeats),
            ));
        }
        if let Some(sweep) = &self.sweep {
            let lists = sweep.lists();
            if lists.is_empty() {
                return Err(invalid("sweep", "names no field to sweep"));
            }
            let len = lists[0].1.len();
            for (name, list) in &lists {
                if list.is_empty() || list.len() > SWEEP_POINTS_MAX {
                    return Err(invalid(
                        format!("sweep.{name}"),
                        format!("needs 1..={SWEEP_POINTS_MAX} values"),
                    ));
                }
                if list.len() != len {
                    return Err(invalid(
                        format!("sweep.{name}"),
                        format!(
                            "has {} values but sweep.{} has {len}; swept lists are zipped",
                            list.len(),
                            lists[0].0
                        ),
                    ));
                }
            }
        }
        for (index, point) in self.points().iter().enumerate() {
            check_point(point, self.sweep.is_some().then_some(index))?;
        }
        Ok(())
    }

    /// The points to run: one per sweep position, or the workload itself.
    pub fn points(&self) -> Vec<Point> {
        let base = Point {
            topics: self.topics.clone(),
            producers: self.producers,
            record_bytes: self.record_bytes,
            batch_records: self.batch_records,
            rate_records_per_s: self.rate_records_per_s,
            groups: self.groups,
            members_per_group: self.members_per_group,
            warmup_s: self.warmup_s,
            duration_s: self.duration_s,
            backlog_records_max: self.backlog_records_max,
            swept: BTreeMap::new(),
        };
        let Some(sweep) = &self.sweep else {
            return vec![base];
        };
        let lists = sweep.lists();
        let len = lists.first().map_or(0, |(_, l)| l.len());
        (0..len)
            .map(|i| {
                let mut point = base.clone();
                for (name, list) in &lists {
                    let Some(&value) = list.get(i) else { continue };
                    point.swept.insert((*name).to_string(), value);
                    match *name {
                        "producers" => point.producers = value,
                        "groups" => point.groups = value,
                        "members_per_group" => point.members_per_group = value,
                        "partitions" => point.topics.iter_mut().for_each(|t| t.partitions = value),
                        "record_bytes" => point.record_bytes = value,
                        "batch_records" => point.batch_records = value,
                        _ => unreachable!("Sweep::lists names only these"),
                    }
                }
                point
            })
            .collect()
    }
}

/// Check one point; `sweep_index` says which sweep position it came from, so a bad swept
/// value is named as `sweep.<field>[i]`.
fn check_point(point: &Point, sweep_index: Option<usize>) -> Result<(), WorkloadError> {
    let field = |name: &str| match sweep_index {
        Some(i) if point.swept.contains_key(name) => format!("sweep.{name}[{i}]"),
        _ => name.to_string(),
    };
    for (i, topic) in point.topics.iter().enumerate() {
        let name = match sweep_index {
            Some(i) if point.swept.contains_key("partitions") => format!("sweep.partitions[{i}]"),
            _ => format!("topics[{i}].partitions"),
        };
        check_range(
            &name,
            topic.partitions,
            1,
            PARTITIONS_PER_TOPIC_MAX as usize,
        )?;
    }
    check_range(&field("producers"), point.producers, 1, PRODUCERS_MAX)?;
    check_range(
        &field("record_bytes"),
        point.record_bytes,
        RECORD_BYTES_MIN,
        RECORD_BYTES_MAX,
    )?;
    check_range(
        &field("batch_records"),
        point.batch_records,
        1,
        BATCH_RECORDS_MAX,
    )?;
    let batch_bytes = point.batch_records as u64
        * (point.record_bytes as u64 + streamspec_model::record::RECORD_OVERHEAD_BYTES);
    if batch_bytes > streamspec_model::config::MAX_MESSAGE_BYTES_DEFAULT {
        return Err(invalid(
            field("batch_records"),
            format!(
                "{} records of {} bytes make a {batch_bytes}-byte batch, over the topic's \
                 max_message_bytes ({})",
                point.batch_records,
                point.record_bytes,
                streamspec_model::config::MAX_MESSAGE_BYTES_DEFAULT
            ),
        ));
    }
    check_range(&field("groups"), point.groups, 0, GROUPS_COUNT_MAX)?;
    check_range(
        &field("members_per_group"),
        point.members_per_group,
        1,
        GROUP_MEMBERS_MAX,
    )?;
    if let Rate::RecordsPerS(rate) = point.rate_records_per_s {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(invalid(
                "rate_records_per_s",
                format!("{rate} is not a positive number (or \"unlimited\")"),
            ));
        }
    }
    if !(point.warmup_s.is_finite() && (0.0..=DURATION_S_MAX).contains(&point.warmup_s)) {
        return Err(invalid(
            "warmup_s",
            format!("{} is not in 0..={DURATION_S_MAX}", point.warmup_s),
        ));
    }
    if !(point.duration_s.is_finite()
        && point.duration_s > 0.0
        && point.duration_s <= DURATION_S_MAX)
    {
        return Err(invalid(
            "duration_s",
            format!("{} is not in (0, {DURATION_S_MAX}]", point.duration_s),
        ));
    }
    if point.backlog_records_max < point.batch_records as u64
        || point.backlog_records_max > BACKLOG_RECORDS_LIMIT
    {
        return Err(invalid(
            "backlog_records_max",
            format!(
                "{} is not in batch_records ({})..={BACKLOG_RECORDS_LIMIT}",
                point.backlog_records_max, point.batch_records
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "independent-consumers-scale"
producers = 1
record_bytes = 64
batch_records = 100
rate_records_per_s = "unlimited"
groups = 1
members_per_group = 1
warmup_s = 0.5
duration_s = 2

[[topics]]
name = "orders"
partitions = 1

[sweep]
groups = [1, 2, 3]
"#;

    fn error_of(text: &str) -> String {
        Workload::parse(text, "w.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_gives_one_point_per_sweep_value() {
        let workload = Workload::parse(GOOD, "w.toml").unwrap();
        assert_eq!(workload.repeats, 1);
        assert_eq!(workload.rate_records_per_s, Rate::Unlimited);
        let points = workload.points();
        assert_eq!(points.len(), 3);
        assert_eq!(
            points.iter().map(|p| p.groups).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(points[2].label(), "groups=3");
        assert_eq!(points[1].consumers(), 2);
    }

    #[test]
    fn each_kind_of_mistake_names_its_field() {
        // Goal: a malformed file is a clear error naming the field. Method: break one field
        // at a time and look for its name in the message.
        let cases = [
            (
                GOOD.replace("duration_s = 2", "duration_s = 0"),
                "duration_s",
            ),
            (GOOD.replace("duration_s = 2", "duraton_s = 2"), "duraton_s"),
            (GOOD.replace("duration_s = 2\n", ""), "duration_s"),
            (
                GOOD.replace("record_bytes = 64", "record_bytes = 4"),
                "record_bytes",
            ),
            (
                GOOD.replace("record_bytes = 64", "record_bytes = \"big\""),
                "record_bytes",
            ),
            (
                GOOD.replace("\"unlimited\"", "\"fast\""),
                "rate_records_per_s",
            ),
            (GOOD.replace("\"unlimited\"", "-5"), "rate_records_per_s"),
            (
                GOOD.replace("partitions = 1", "partitions = 0"),
                "topics[0].partitions",
            ),
            (
                GOOD.replace("name = \"orders\"", "name = \"a b\""),
                "topics[0].name",
            ),
            (
                GOOD.replace("groups = [1, 2, 3]", "groups = [1, 2, 99999]"),
                "sweep.groups[2]",
            ),
            (
                GOOD.replace("groups = [1, 2, 3]", "groups = [1, 2]\nproducers = [1]"),
                "sweep.",
            ),
            (GOOD.replace("groups = [1, 2, 3]", "colour = [1]"), "colour"),
            (
                GOOD.replace(
                    "batch_records = 100",
                    "batch_records = 5000\nrecord_bytes = 1024",
                )
                .replace("record_bytes = 64\n", ""),
                "batch_records",
            ),
            (
                GOOD.replace("producers = 1", "repeats = 0\nproducers = 1"),
                "repeats",
            ),
        ];
        for (text, field) in cases {
            let message = error_of(&text);
            assert!(message.contains(field), "expected {field:?} in: {message}");
        }
    }

    #[test]
    fn every_shipped_workload_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let workload = Workload::read(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(!workload.points().is_empty());
                names.push(workload.name);
            }
        }
        names.sort();
        for scenario in ["independent-consumers-scale", "produce-poll-commit"] {
            assert!(
                names.iter().any(|n| n == scenario),
                "{scenario} missing: {names:?}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let error = Workload::read(Path::new("/nonexistent/w.toml")).unwrap_err();
        assert!(matches!(error, WorkloadError::Io { .. }), "{error}");
    }
}
