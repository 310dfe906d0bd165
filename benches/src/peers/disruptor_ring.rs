//! The LMAX-style ring: the `disruptor` crate, one producer, N consumers.
//!
//! Each consumer is an event handler of the same stage, so each sees every event (the
//! disruptor's multicast), on a thread the disruptor owns. The ring is preallocated and
//! recycled: nothing is retained past the slowest consumer, which is why the disruptor has no
//! group scaling or retained-log produce workload here (`None`).
//!
//! Waiting: the crate's strategies are busy-spins (and a fixed sleep); busy-spinning consumers
//! collapse as soon as threads outnumber cores, so the handlers use [`Yielding`], a strategy
//! written here that yields the core while waiting, and the producer retries a full ring with
//! `try_publish` and a yield instead of the crate's spinning `publish`. Handlers fold events
//! into a local tally and hand it out at each end of batch.
//!
//! Values are fixed-size arrays, so only 8-byte and 1 KiB values run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disruptor::wait_strategies::WaitStrategy;
use disruptor::{build_single_producer, ProcessorSettings, Producer, Sequence};

use crate::peers::channel_fan_out::with_value_size;
use crate::peers::{in_flight_records, wait_briefly};
use crate::placement;
use crate::workload::{
    encode_value, Acknowledged, FanOut, GroupScaling, Latency, Produce, Run, System, Tally,
};

/// The disruptor peer.
#[derive(Debug)]
pub struct DisruptorRing;

/// Wait strategy that yields the core while no event is ready.
#[derive(Clone, Copy, Debug)]
pub struct Yielding;

impl WaitStrategy for Yielding {
    #[inline]
    fn wait_for(&self, _sequence: Sequence) {
        wait_briefly();
    }
}

/// A ring slot holding one value.
struct Slot<const B: usize>([u8; B]);

fn ring_slots(value_bytes: usize) -> usize {
    // The crate wants a power of two.
    in_flight_records(value_bytes).next_power_of_two()
}

/// A handler folding every event into a tally that it publishes to `out` at each end of
/// batch (the last event always ends a batch).
fn handler<const B: usize>(
    out: Arc<Mutex<Tally>>,
) -> impl FnMut(&Slot<B>, Sequence, bool) + Send + 'static {
    let mut tally = Tally::default();
    move |slot, _sequence, end_of_batch| {
        tally.add(&slot.0);
        if end_of_batch {
            *out.lock().unwrap() = tally;
        }
    }
}

/// `builder`, with its next handler pinned as thread `thread` of the run (see
/// [`crate::placement`]: the disruptor spawns its handlers' threads itself).
fn placed<E, W, B: ProcessorSettings<E, W>>(builder: B, thread: usize) -> B {
    match placement::core_of(thread) {
        Some(core) => builder.pin_at_core(core),
        None => builder,
    }
}

/// Publish every record, then drop the producer (which waits for every handler to finish).
fn publish_all<const B: usize, P: Producer<Slot<B>>>(
    mut producer: P,
    workload: &FanOut,
) -> Duration {
    let started = Instant::now();
    if workload.batch_records == 1 {
        for sequence in 0..workload.records {
            while producer
                .try_publish(|slot| encode_value(sequence, &mut slot.0))
                .is_err()
            {
                wait_briefly();
            }
        }
    } else {
        let batch = workload.batch_records as u64;
        let mut written = 0;
        while written < workload.records {
            let end = (written + batch).min(workload.records);
            let n = (end - written) as usize;
            while producer
                .try_batch_publish(n, |slots| {
                    for (slot, sequence) in slots.zip(written..end) {
                        encode_value(sequence, &mut slot.0);
                    }
                })
                .is_err()
            {
                wait_briefly();
            }
            written = end;
        }
    }
    drop(producer);
    started.elapsed()
}

fn fan_out_sized<const B: usize>(workload: &FanOut) -> Run {
    assert!(
        workload.batch_records <= ring_slots(B),
        "a batch must fit the ring"
    );
    let outs: Vec<Arc<Mutex<Tally>>> = (0..workload.consumers).map(|_| Arc::default()).collect();
    // Consumer `c` is thread `c + 1` of the run, the producer thread 0.
    let builder = build_single_producer(ring_slots(B), || Slot([0u8; B]), Yielding);
    let builder = placed(builder, 1).handle_events_with(handler::<B>(Arc::clone(&outs[0])));
    // The builder's type changes from one consumer to several, hence two arms.
    let elapsed = if workload.consumers == 1 {
        let producer = builder.build();
        placement::run_pinned(0, || publish_all::<B, _>(producer, workload))
    } else {
        let mut builder = placed(builder, 2).handle_events_with(handler::<B>(Arc::clone(&outs[1])));
        for (consumer, out) in outs.iter().enumerate().skip(2) {
            builder =
                placed(builder, consumer + 1).handle_events_with(handler::<B>(Arc::clone(out)));
        }
        let producer = builder.build();
        placement::run_pinned(0, || publish_all::<B, _>(producer, workload))
    };
    let tallies = outs.iter().map(|out| *out.lock().unwrap()).collect();
    Run { elapsed, tallies }
}

fn latency_sized<const B: usize>(workload: &Latency) -> Run {
    let acknowledged = Arc::new(Acknowledged::default());
    let out: Arc<Mutex<Tally>> = Arc::default();
    let consumer = {
        let (acknowledged, out) = (Arc::clone(&acknowledged), Arc::clone(&out));
        let mut tally = Tally::default();
        move |slot: &Slot<B>, _sequence: Sequence, _end_of_batch: bool| {
            tally.add(&slot.0);
            // Every event ends its batch here (one in flight), so publish the tally each time.
            *out.lock().unwrap() = tally;
            acknowledged.set(tally.count);
        }
    };
    // The consumer is thread 1 of the run, the producer thread 0, as in every system.
    let builder = build_single_producer(ring_slots(B), || Slot([0u8; B]), Yielding);
    let mut producer = placed(builder, 1).handle_events_with(consumer).build();
    let elapsed = placement::run_pinned(0, || {
        let started = Instant::now();
        for sequence in 0..workload.round_trips {
            while producer
                .try_publish(|slot| encode_value(sequence, &mut slot.0))
                .is_err()
            {
                wait_briefly();
            }
            acknowledged.wait_past(sequence);
        }
        started.elapsed()
    });
    drop(producer);
    let tally = *out.lock().unwrap();
    Run {
        elapsed,
        tallies: vec![tally],
    }
}

impl System for DisruptorRing {
    const NAME: &'static str = "disruptor";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => fan_out_sized::<B>(workload))
    }

    fn group_scaling(_workload: &GroupScaling) -> Option<Run> {
        None
    }

    fn produce(_workload: &Produce) -> Option<Run> {
        None
    }

    fn latency(workload: &Latency) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => latency_sized::<B>(workload))
    }
}
