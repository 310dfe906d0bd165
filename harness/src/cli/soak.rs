//! `streamspec soak --seconds N`: producers, consumer groups and retention together against
//! one target, reporting resident memory over time and accounting for every acknowledged
//! record at the end (see [`crate::soak`]).
//!
//! Output: one line per sample (`t=  5.0s rss=12.3 MiB acked=... retained=... read=...`), then
//! a summary, then `ok` or one `FAIL` line per problem.
//!
//! Exit code: 0 when every record is accounted for and memory stayed within the bound, 1
//! otherwise, 2 for unusable arguments.

use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::reference::Locked;
use crate::soak::{soak, EngineTarget, SoakConfig, RECORD_SIZE_BYTES};
use crate::target::ConcurrentTarget;

/// Most seconds one soak may run: a day. Longer runs are several soaks.
pub const SOAK_SECONDS_MAX: u64 = 24 * 60 * 60;
/// Most threads of one kind (producers, groups, members per group).
pub const SOAK_THREADS_MAX: usize = 64;

/// What the soak runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SoakTarget {
    /// The lock-free engine.
    Engine,
    /// The reference model behind one lock (checks the harness; not a concurrency test).
    Model,
}

/// Arguments of `streamspec soak`.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long producers run, in seconds; consumers then get up to --drain-seconds to catch up.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// What to soak.
    #[arg(long, value_enum, default_value_t = SoakTarget::Engine)]
    pub target: SoakTarget,
    /// Producer threads.
    #[arg(long, default_value_t = 2)]
    pub producers: usize,
    /// Consumer groups.
    #[arg(long, default_value_t = 2)]
    pub groups: usize,
    /// Member threads per group.
    #[arg(long, default_value_t = 2)]
    pub members: usize,
    /// Partitions per topic (1..=1024).
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 5)]
    pub sample_seconds: u64,
    /// Seconds consumers get to catch up after producers stop.
    #[arg(long, default_value_t = 30)]
    pub drain_seconds: u64,
    /// Fail if resident memory grows more than this many MiB after the warm-up.
    #[arg(long, default_value_t = 64)]
    pub rss_growth_mib_max: u64,
}

impl SoakArgs {
    /// The soak's configuration, or what is wrong with the arguments.
    pub fn config(&self) -> Result<SoakConfig, String> {
        if !(1..=SOAK_SECONDS_MAX).contains(&self.seconds) {
            return Err(format!("--seconds must be in 1..={SOAK_SECONDS_MAX}"));
        }
        for (name, count) in [
            ("--producers", self.producers),
            ("--groups", self.groups),
            ("--members", self.members),
        ] {
            if !(1..=SOAK_THREADS_MAX).contains(&count) {
                return Err(format!("{name} must be in 1..={SOAK_THREADS_MAX}"));
            }
        }
        if !(1..=1024).contains(&self.partitions) {
            return Err("--partitions must be in 1..=1024".to_owned());
        }
        if !(1..=SOAK_SECONDS_MAX).contains(&self.sample_seconds) {
            return Err(format!(
                "--sample-seconds must be in 1..={SOAK_SECONDS_MAX}"
            ));
        }
        if self.drain_seconds > SOAK_SECONDS_MAX {
            return Err(format!(
                "--drain-seconds must be at most {SOAK_SECONDS_MAX}"
            ));
        }
        let rss_growth_bytes_max = self
            .rss_growth_mib_max
            .checked_mul(1 << 20)
            .ok_or("--rss-growth-mib-max is too large")?;
        let backlog_records_max = SoakConfig::default().backlog_records_max;
        Ok(SoakConfig {
            duration: Duration::from_secs(self.seconds),
            producers_count: self.producers,
            groups_count: self.groups,
            members_per_group: self.members,
            partitions_count: self.partitions,
            sample_interval: Duration::from_secs(self.sample_seconds),
            drain_timeout: Duration::from_secs(self.drain_seconds),
            rss_growth_bytes_max,
            backlog_records_max,
            retention_bytes: backlog_records_max * RECORD_SIZE_BYTES,
            ..SoakConfig::default()
        })
    }
}

/// Run the soak `args` describe, report to `out`, return the exit code.
pub fn run(args: &SoakArgs, out: &mut dyn Write) -> u8 {
    let config = match args.config() {
        Ok(config) => config,
        Err(message) => {
            let _ = writeln!(out, "error {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let target: Box<dyn ConcurrentTarget> = match args.target {
        SoakTarget::Engine => Box::new(EngineTarget::new()),
        SoakTarget::Model => Box::new(Locked::model()),
    };
    let _ = writeln!(
        out,
        "soak {} for {}s: {} producers, {} groups x {} members, {} partitions per topic",
        target.name(),
        args.seconds,
        config.producers_count,
        config.groups_count,
        config.members_per_group,
        config.partitions_count
    );
    let report = soak(target.as_ref(), &config, &mut |sample| {
        let _ = writeln!(out, "{sample}");
    });
    let _ = writeln!(
        out,
        "acked {} records, read {} (re-reads included), retention removed {}, {} idempotent retries checked, {} rejoins",
        report.acked_records,
        report.read_records,
        report.removed_records,
        report.duplicates_checked,
        report.rejoins
    );
    if report.passed() {
        let _ = writeln!(out, "ok    every acknowledged record accounted for");
        EXIT_PASSED
    } else {
        for failure in &report.failures {
            let _ = writeln!(out, "FAIL  {failure}");
        }
        EXIT_FAILED
    }
}
