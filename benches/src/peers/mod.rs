//! The peers the engine is measured against, one file each, all running the same
//! [`crate::workload`]s in the same bench run:
//!
//! - [`array_log`]: the ceiling, a bare preallocated array with one published cursor.
//! - [`disruptor_ring`]: the `disruptor` crate (LMAX-style ring), 1 producer, N consumers,
//!   read two ways: by its managed batch handlers ([`DisruptorRing`]) and by its pollers
//!   ([`DisruptorPoller`]).
//! - [`channel_fan_out`]: crossbeam channels, one per consumer.
//! - [`rwlock_log`]: the naive log, `RwLock<Vec<Box<[u8]>>>`.

pub mod array_log;
pub mod channel_fan_out;
pub mod disruptor_ring;
pub mod rwlock_log;

pub use array_log::ArrayLog;
pub use channel_fan_out::ChannelFanOut;
pub use disruptor_ring::{DisruptorPoller, DisruptorRing};
pub use rwlock_log::RwLockLog;

/// Most bytes of values in flight per consumer for the bounded peers (the disruptor's ring,
/// each crossbeam channel): 4 MiB, deep enough that a consumer is rarely stalled by the
/// producer and small enough that 8 consumers of 1 KiB values stay in cache-sized memory.
pub const IN_FLIGHT_BYTES_MAX: usize = 4 << 20;

/// Records in flight per consumer for the bounded peers: 4 MiB of values, at most 64 Ki
/// records.
pub fn in_flight_records(value_bytes: usize) -> usize {
    (IN_FLIGHT_BYTES_MAX / value_bytes).min(1 << 16)
}

/// What a waiting thread does when there is nothing for it yet: give the core away. With 2
/// cores and up to 9 threads, a spinning waiter steals the time the thread it waits for
/// needs; yielding keeps every system usable when oversubscribed.
#[inline]
pub fn wait_briefly() {
    std::thread::yield_now();
}
