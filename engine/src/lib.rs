//! The lock-free concurrent engine: every op of the model (docs/model.md), safe and fast under
//! many threads.
//!
//! Entry points: [`Engine::apply`] (the model's `Op -> Ret`, from any number of threads),
//! [`Engine::fetch_wait`] (blocking fetch), and [`PartitionHandle`] (the typed fast path for
//! benchmarks: batched produce, zero-copy fetch under one epoch pin).
//!
//! One file per mechanism:
//! - [`sync`]: the shim every atomic, cell, lock and thread primitive comes through (loom
//!   under `cfg(loom)`).
//! - [`segment`]: one segment: 16-byte record slots plus a byte arena; the record layout.
//! - [`directory`]: offset → segment in O(1), a two-level ring of epoch-protected pointers.
//! - [`recycle`]: the pool that reuses freed segments (warm pages).
//! - [`descriptor`]: a laid-out batch any thread can finish publishing (helping).
//! - [`spares`]: recycling of descriptors, per thread, through the epoch collector.
//! - [`log`]: the partition log: lay → install → complete, lock-free; reads; log start;
//!   and (`log/lease.rs`) the exclusive producer's lease, which appends without the protocol.
//! - [`notify`]: waking blocked readers without lost wake-ups.
//! - [`retention`]: the eligible log start (time, size, consumed).
//! - [`producer`]: idempotent producer ids, epochs and sequence deduplication.
//! - [`offsets`]: committed offsets, one cell per group per partition.
//! - [`group`]: membership views, generations, assignors, and the commit fence.
//! - [`topic`]: topics, partitions and the topic table snapshot.
//! - [`engine`]: `apply` over all of the above, and the typed handle.
//!
//! docs/ARCHITECTURE.md walks the produce, fetch, commit and retention paths;
//! docs/SAFETY.md lists each hazard and what prevents it.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod descriptor;
pub mod directory;
pub mod engine;
pub mod group;
pub mod log;
pub mod notify;
pub mod offsets;
pub mod producer;
pub mod recycle;
pub mod retention;
pub mod segment;
pub mod spares;
pub mod sync;
pub mod topic;

pub use engine::{Clock, Engine, ExclusiveProducer, PartitionHandle, PartitionReader};
pub use log::ReadSummary;
pub use segment::RecordView;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    fn assert_send<T: Send>() {}

    /// Goal: the engine can be shared between threads, and an exclusive producer made on one
    /// thread can produce from another.
    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
        assert_send_sync::<PartitionHandle>();
        assert_send::<ExclusiveProducer>();
    }
}
