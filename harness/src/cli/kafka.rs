//! `streamspec kafka --bootstrap HOST:PORT` and `streamspec replay --target kafka://HOST:PORT`:
//! checking a live Kafka-protocol broker against the model.
//!
//! The adapter, the workload and its checks live in the `streamspec-kafka` crate (which
//! builds librdkafka); this file is the command line over them, plus the harness's
//! [`Target`](crate::target::Target) and
//! [`ConcurrentTarget`](crate::target::ConcurrentTarget) for a broker. All of it is behind
//! the `kafka` cargo feature so that the default build does not compile librdkafka; without
//! the feature both commands say how to get it and exit with code 2.
//!
//! `streamspec kafka` output: a header, the ops by outcome, adapter problems (things the
//! adapter could not do, which are not findings), every divergence with the history lines
//! that show it, and a verdict. It writes `history.jsonl` (docs/history-format.md),
//! `groups.jsonl` (group members' observations) and `report.txt` under `--out`. Exit code 0:
//! no departure from the model; 1: some divergence; 2: the broker could not be checked
//! (unreachable, setup refused, drain incomplete) or bad arguments.
//!
//! `replay --target` output, per trace: `ok` (every op the broker answered matches the model,
//! with the ops the adapter cannot send counted as skipped), `FAIL` with the op, the
//! broker's answer and the model's, or `error`. A divergence that follows a skipped op that
//! changes state is marked as possibly caused by the skip.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

#[cfg(not(feature = "kafka"))]
use super::EXIT_BAD_INPUT;

/// What to say when the feature is missing.
#[cfg(not(feature = "kafka"))]
const FEATURE_NEEDED: &str = "error this streamspec was built without the `kafka` feature, \
     which checks live brokers; rebuild with `cargo build --release -p streamspec --features kafka`";

/// Arguments of `streamspec kafka`.
#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// A bootstrap broker, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap: String,
    /// A workload file (JSON; every field optional: topics, partitions, producers, fetchers,
    /// groups, members_per_group, seconds, keyed_percent, op_pause_ms, seed, create_topics).
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Length of the concurrent phase, in seconds (overrides the workload file).
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// Where to write history.jsonl, groups.jsonl and report.txt.
    #[arg(long, value_name = "DIR", default_value = "streamspec-kafka-out")]
    pub out: PathBuf,
}

/// Run `streamspec kafka`; returns the exit code.
pub fn run(args: &KafkaArgs, out: &mut dyn Write) -> u8 {
    #[cfg(feature = "kafka")]
    {
        live::run(args, out)
    }
    #[cfg(not(feature = "kafka"))]
    {
        let _ = args;
        let _ = writeln!(out, "{FEATURE_NEEDED}");
        EXIT_BAD_INPUT
    }
}

/// Run `streamspec replay --target URL PATH...`; returns the exit code.
pub fn replay_against_target(
    target: &str,
    paths: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<u8> {
    #[cfg(feature = "kafka")]
    {
        live::replay(target, paths, out)
    }
    #[cfg(not(feature = "kafka"))]
    {
        let _ = (target, paths);
        writeln!(out, "{FEATURE_NEEDED}")?;
        Ok(EXIT_BAD_INPUT)
    }
}

#[cfg(feature = "kafka")]
pub use live::KafkaTarget;

#[cfg(feature = "kafka")]
mod live {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    use streamspec_kafka::check::{check, Report};
    use streamspec_kafka::history::{write_events, write_group_events};
    use streamspec_kafka::workload::{self, Workload};
    use streamspec_kafka::{AdapterError, BrokerConfig, KafkaBroker, Namespace};
    use streamspec_model::{ErrorCode, Op, Ret};

    use super::KafkaArgs;
    use crate::cli::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
    use crate::gate::{judge, Judgement};
    use crate::history::History;
    use crate::linearizability;
    use crate::replay::{Replayer, Verdict};
    use crate::target::{ConcurrentTarget, Target};
    use crate::trace::{op_json, ret_json, trace_files, Step, Trace};

    /// Longest the linearizability check of one run may take, in seconds (per-partition
    /// components of a 10 s run check in well under a second; this bounds a pathological
    /// history, which then reads `unknown`).
    const LINEARIZABILITY_SECONDS_MAX: u64 = 60;
    /// Most history findings listed in the report; the rest are in the history for `verify`.
    const FINDINGS_LISTED_MAX: usize = 20;
    /// Most ops shown under one history finding.
    const EVIDENCE_OPS_MAX: usize = 8;

    /// A live broker as a harness target.
    ///
    /// `Target::apply` returns a model answer, and an op the adapter could not carry out has
    /// none: such an op is answered `invalid_request` *and* its [`AdapterError`] is kept in
    /// [`KafkaTarget::adapter_errors`], so a caller can tell the broker's refusals from the
    /// adapter's. The commands here use [`KafkaBroker::execute`], which keeps them apart.
    pub struct KafkaTarget {
        broker: KafkaBroker,
        adapter_errors: Mutex<Vec<AdapterError>>,
    }

    impl KafkaTarget {
        /// Wrap a connected broker.
        pub fn new(broker: KafkaBroker) -> KafkaTarget {
            KafkaTarget {
                broker,
                adapter_errors: Mutex::new(Vec::new()),
            }
        }

        /// The adapter errors met so far (ops answered `invalid_request` for want of a
        /// broker answer).
        pub fn adapter_errors(&self) -> Vec<AdapterError> {
            self.adapter_errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        }

        fn answer(&self, op: &Op) -> Ret {
            match self.broker.execute(op) {
                Ok(ret) => ret,
                Err(error) => {
                    self.adapter_errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(error);
                    Err(ErrorCode::InvalidRequest)
                }
            }
        }
    }

    impl Target for KafkaTarget {
        fn name(&self) -> String {
            self.broker.name()
        }

        fn apply(&mut self, op: &Op) -> Ret {
            self.answer(op)
        }
    }

    impl ConcurrentTarget for KafkaTarget {
        fn name(&self) -> String {
            self.broker.name()
        }

        fn apply(&self, op: &Op) -> Ret {
            self.answer(op)
        }
    }

    /// A prefix no earlier run on the same broker used: the wall clock in ms, base 36.
    fn run_prefix() -> String {
        let mut ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut text = Vec::new();
        while ms > 0 {
            text.push(digits[(ms % 36) as usize]);
            ms /= 36;
        }
        text.reverse();
        format!("ss{}.", String::from_utf8_lossy(&text))
    }

    fn bootstrap_of(target: &str) -> Option<&str> {
        target
            .strip_prefix("kafka://")
            .filter(|rest| !rest.is_empty())
    }

    pub fn run(args: &KafkaArgs, out: &mut dyn Write) -> u8 {
        let mut workload = match &args.workload {
            None => Workload::default(),
            Some(path) => match std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| workload::parse_workload(&text))
            {
                Ok(workload) => workload,
                Err(error) => {
                    let _ = writeln!(out, "error {}: {error}", path.display());
                    return EXIT_BAD_INPUT;
                }
            },
        };
        if let Some(seconds) = args.seconds {
            workload.seconds = seconds;
        }
        let names = Namespace::new(run_prefix());
        let broker = match KafkaBroker::connect(BrokerConfig::new(&args.bootstrap, names.clone())) {
            Ok(broker) => Arc::new(broker),
            Err(error) => {
                let _ = writeln!(
                    out,
                    "error {}",
                    workload::unreachable(&args.bootstrap, &error)
                );
                return EXIT_BAD_INPUT;
            }
        };
        let mut text = String::new();
        let _ = writeln!(
            text,
            "streamspec kafka: {} (names prefixed {}), {} s, {} topics x {} partitions, {} producers, {} fetchers, {} groups x {} members",
            broker.name(),
            names.prefix(),
            workload.seconds,
            workload.topics,
            workload.partitions,
            workload.producers,
            workload.fetchers,
            workload.groups,
            workload.members_per_group
        );
        let run = workload::run(&broker, &args.bootstrap, &workload);
        let report = check(&run);
        write_report(&mut text, &run.adapter_problems, &report);
        if let Err(error) = write_recordings(&args.out, &run) {
            let _ = out.write_all(text.as_bytes());
            let _ = writeln!(out, "error writing under {}: {error}", args.out.display());
            return EXIT_BAD_INPUT;
        }
        // The gate's checkers read the history back as `streamspec verify` would: this also
        // holds the recorder to the documented format.
        let history_path = args.out.join("history.jsonl");
        let judged = match History::read(&history_path) {
            Ok(history) => {
                let judgement = judge(&history, run.adapter_problems.is_empty(), &gate_options());
                write_judgement(&mut text, &history, &judgement, &history_path);
                Some(judgement.passed())
            }
            Err(error) => {
                let _ = writeln!(
                    text,
                    "error the recorded history does not read back: {error}"
                );
                None
            }
        };
        let model_clean = report.is_clean() && judged == Some(true);
        if model_clean && run.adapter_problems.is_empty() {
            let _ = writeln!(text, "ok    the broker did only what the model allows");
        } else if model_clean {
            let _ = writeln!(
                text,
                "incomplete  no divergence found, but the adapter problems above kept part of the run from being checked"
            );
        } else {
            let total: usize = report.counts.values().sum();
            let _ = writeln!(
                text,
                "FAIL  the broker departs from the model ({total} divergences in the run's checks{})",
                if judged == Some(false) { ", and the history checks failed" } else { "" }
            );
        }
        let _ = out.write_all(text.as_bytes());
        if let Err(error) = std::fs::write(args.out.join("report.txt"), &text) {
            let _ = writeln!(out, "error writing under {}: {error}", args.out.display());
            return EXIT_BAD_INPUT;
        }
        let _ = writeln!(
            out,
            "wrote {0}/history.jsonl, {0}/groups.jsonl, {0}/report.txt",
            args.out.display()
        );
        if !model_clean {
            EXIT_FAILED
        } else if !run.adapter_problems.is_empty() {
            EXIT_BAD_INPUT
        } else {
            EXIT_PASSED
        }
    }

    /// The gate's verdicts on the history, in the words `streamspec verify` uses.
    fn write_judgement(text: &mut String, history: &History, judgement: &Judgement, path: &Path) {
        let l = &judgement.linearizability;
        let verdict = match &l.verdict {
            linearizability::Verdict::Linearizable => "ok".to_string(),
            linearizability::Verdict::Unknown(why) => format!("unknown, {why}"),
            linearizability::Verdict::Illegal(illegal) => {
                format!("ILLEGAL in {}", illegal.component)
            }
        };
        let _ = writeln!(
            text,
            "history {}: {} ops; linearizability against the model: {verdict} ({} components, {} setup ops, {} ms); anomalies: {}",
            path.display(),
            history.ops.len(),
            l.components,
            l.setup_ops,
            l.elapsed.as_millis(),
            if judgement.anomalies.is_clean() { "none" } else { "found" }
        );
        for finding in judgement.findings().iter().take(FINDINGS_LISTED_MAX) {
            let _ = writeln!(text, "DIVERGES {}: {}", finding.check, finding.summary);
            for id in finding.ops.iter().take(EVIDENCE_OPS_MAX) {
                if let Some(op) = history.ops.get(*id) {
                    let _ = writeln!(
                        text,
                        "      #{id} process {} {} -> {:?}",
                        op.process,
                        op_json(&op.op),
                        op.outcome
                    );
                }
            }
        }
    }

    /// Bounds for the linearizability check of a broker history.
    fn gate_options() -> linearizability::Options {
        linearizability::Options {
            time_limit: std::time::Duration::from_secs(LINEARIZABILITY_SECONDS_MAX),
            ..linearizability::Options::default()
        }
    }

    fn write_report(text: &mut String, problems: &[String], report: &Report) {
        let stats: Vec<String> = report
            .stats
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        let _ = writeln!(text, "ops: {}", stats.join(", "));
        for problem in problems {
            let _ = writeln!(text, "adapter problem (not a finding): {problem}");
        }
        for (name, count) in &report.counts {
            let _ = writeln!(text, "DIVERGES {name}: {count} found");
            for divergence in report.divergences.iter().filter(|d| d.name == *name) {
                let _ = writeln!(text, "  - {}", divergence.explanation);
                for line in &divergence.evidence {
                    let _ = writeln!(text, "      {line}");
                }
            }
        }
    }

    fn write_recordings(dir: &Path, run: &workload::Run) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut history =
            std::io::BufWriter::new(std::fs::File::create(dir.join("history.jsonl"))?);
        write_events(&mut history, &run.events)?;
        history.flush()?;
        let mut groups = std::io::BufWriter::new(std::fs::File::create(dir.join("groups.jsonl"))?);
        write_group_events(&mut groups, &run.group_events)?;
        groups.flush()
    }

    /// Ops that change no state: skipping them cannot make a later answer differ.
    fn read_only(op: &Op) -> bool {
        matches!(
            op,
            Op::Fetch { .. }
                | Op::ListOffsets { .. }
                | Op::Committed { .. }
                | Op::DescribeGroup { .. }
        )
    }

    pub fn replay(target: &str, paths: &[PathBuf], out: &mut dyn Write) -> std::io::Result<u8> {
        let Some(bootstrap) = bootstrap_of(target) else {
            writeln!(
                out,
                "error --target {target:?}: the only target is kafka://HOST:PORT"
            )?;
            return Ok(EXIT_BAD_INPUT);
        };
        let files = match trace_files(paths) {
            Ok(files) => files,
            Err(error) => {
                writeln!(out, "error {error}")?;
                return Ok(EXIT_BAD_INPUT);
            }
        };
        if files.is_empty() {
            writeln!(out, "error no *.jsonl trace files under the given paths")?;
            return Ok(EXIT_BAD_INPUT);
        }
        let run = Namespace::new(run_prefix());
        writeln!(
            out,
            "replaying against kafka://{bootstrap} (names prefixed {}tN.)",
            run.prefix()
        )?;
        let (mut passed, mut failed, mut malformed, mut unsent) = (0usize, 0usize, 0usize, 0usize);
        let mut skipped_by_api: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
        for (index, file) in files.iter().enumerate() {
            let trace = match Trace::read(file) {
                Ok(trace) => trace,
                Err(error) => {
                    malformed += 1;
                    writeln!(out, "error {error}")?;
                    continue;
                }
            };
            // A fresh adapter per trace: its clock starts at 0 as the model's does, and its
            // names are this trace's alone.
            let names = run.child(&format!("t{index}"));
            let broker = match KafkaBroker::connect(BrokerConfig::new(bootstrap, names)) {
                Ok(broker) => broker,
                Err(error) => {
                    malformed += 1;
                    writeln!(out, "error {}: {error}", file.display())?;
                    continue;
                }
            };
            match replay_one(&broker, &trace, out, &mut skipped_by_api)? {
                TraceOutcome::Passed => passed += 1,
                TraceOutcome::Diverged => failed += 1,
                TraceOutcome::NothingSent => unsent += 1,
            }
        }
        for (api, (count, why)) in &skipped_by_api {
            writeln!(out, "skipped {api} x{count}: {why}")?;
        }
        writeln!(
            out,
            "{} trace files against kafka://{bootstrap}: {passed} passed, {failed} diverged, {unsent} with no op the adapter can send, {malformed} not run",
            files.len()
        )?;
        Ok(if malformed > 0 {
            EXIT_BAD_INPUT
        } else if failed > 0 {
            EXIT_FAILED
        } else {
            EXIT_PASSED
        })
    }

    /// How one trace went against the broker.
    enum TraceOutcome {
        /// Every answer the broker gave is one the model allows.
        Passed,
        /// Some answer is not.
        Diverged,
        /// The adapter could send none of its ops.
        NothingSent,
    }

    /// Replay one trace's ops against the broker.
    fn replay_one(
        broker: &KafkaBroker,
        trace: &Trace,
        out: &mut dyn Write,
        skipped_by_api: &mut BTreeMap<&'static str, (usize, String)>,
    ) -> std::io::Result<TraceOutcome> {
        let mut replayer = Replayer::new();
        let path = trace.path.display();
        let (mut answered, mut alternatives) = (0usize, 0usize);
        let mut skipped: Vec<(usize, &'static str)> = Vec::new();
        for line in &trace.lines {
            let op = &line.step.op;
            match broker.execute(op) {
                Err(error) if error.certainly_not_applied() => {
                    // The adapter cannot express this op; the model follows the trace's own
                    // answer, so the later lines are judged in the state the trace implies.
                    skipped.push((line.line_number, op.name()));
                    let entry = skipped_by_api
                        .entry(error.api)
                        .or_insert_with(|| (0, error.to_string()));
                    entry.0 += 1;
                    let _ = replayer.step(&line.step);
                }
                Err(error) => {
                    // The op was sent and no model answer came back: the broker failed it in
                    // a way the model has no name for, or did not answer in time.
                    writeln!(
                        out,
                        "FAIL  {path}:{}: {} got no model answer from the broker",
                        line.line_number,
                        op.name()
                    )?;
                    writeln!(out, "      op:     {}", op_json(op))?;
                    writeln!(out, "      broker: {error}")?;
                    writeln!(out, "      trace:  {}", ret_json(&line.step.ret))?;
                    return Ok(TraceOutcome::Diverged);
                }
                Ok(ret) => {
                    answered += 1;
                    let step = Step {
                        op: op.clone(),
                        ret,
                    };
                    match replayer.step(&step) {
                        Verdict::Matches => {}
                        Verdict::AllowedAlternative { .. } => alternatives += 1,
                        Verdict::Diverges { model, reason } => {
                            writeln!(
                                out,
                                "FAIL  {path}:{}: {} diverges from the model",
                                line.line_number,
                                op.name()
                            )?;
                            writeln!(out, "      op:     {}", op_json(op))?;
                            writeln!(out, "      broker: {}", ret_json(&step.ret))?;
                            writeln!(out, "      model:  {}", ret_json(&model))?;
                            if let Some(reason) = reason {
                                writeln!(out, "      why:    {reason}")?;
                            }
                            let effectful: Vec<String> = trace
                                .lines
                                .iter()
                                .filter(|l| l.line_number < line.line_number)
                                .filter(|l| skipped.iter().any(|(n, _)| *n == l.line_number))
                                .filter(|l| !read_only(&l.step.op))
                                .map(|l| format!("line {} {}", l.line_number, l.step.op.name()))
                                .collect();
                            if !effectful.is_empty() {
                                writeln!(
                                    out,
                                    "      note:   after skipped ops that change state ({}); this may follow from them",
                                    effectful.join(", ")
                                )?;
                            }
                            return Ok(TraceOutcome::Diverged);
                        }
                    }
                }
            }
        }
        if answered == 0 {
            writeln!(
                out,
                "skip  {path}: the adapter can send none of its {} ops",
                skipped.len()
            )?;
            return Ok(TraceOutcome::NothingSent);
        }
        let mut summary =
            format!("ok    {path}: {answered} ops answered by the broker match the model");
        if alternatives > 0 {
            summary += &format!(", {alternatives} as allowed alternatives");
        }
        if !skipped.is_empty() {
            let mut names: Vec<&str> = skipped.iter().map(|(_, name)| *name).collect();
            names.sort();
            names.dedup();
            summary += &format!(", {} skipped ({})", skipped.len(), names.join(", "));
        }
        writeln!(out, "{summary}")?;
        Ok(TraceOutcome::Passed)
    }
}
