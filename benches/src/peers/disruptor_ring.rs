//! The LMAX-style ring: the `disruptor` crate, one producer, N consumers.
//!
//! Each consumer is an event handler of the same stage, so each sees every event (the
//! disruptor's multicast), on a thread the disruptor owns ([`DisruptorRing`]), or an event
//! poller of that stage on a thread of the run's own ([`DisruptorPoller`]). The ring is
//! preallocated and recycled: nothing is retained past the slowest consumer, which is why the
//! disruptor has no group scaling or retained-log produce workload here (`None`).
//!
//! Why two ways to read: a handler is handed every event published since its last look, in
//! one loop, whatever the workload's batch, so in the single-record workload it reads as a
//! batched consumer does. Every other system reads at most `batch_records` per look (one, in
//! single-record mode: the engine's reader fetches one record per call, as a Kafka consumer
//! with `max.poll.records=1` does). The crate's [`EventPoller`] reads that way too:
//! `take(batch_records)` is one look at the producer's cursor, at most that many events, and
//! one store of the poller's own cursor. So [`DisruptorPoller`] runs the workload as it is
//! written, and [`DisruptorRing`] shows what the crate's handlers reach without the bound.
//!
//! Waiting: the crate's strategies are busy-spins (and a fixed sleep); busy-spinning consumers
//! collapse as soon as threads outnumber cores, so the handlers use [`Yielding`], a strategy
//! written here that yields the core while waiting, and the producer retries a full ring with
//! `try_publish` and a yield instead of the crate's spinning `publish`; a poller that finds
//! nothing yields. Handlers fold events into a local tally and hand it out at each end of
//! batch.
//!
//! Values are fixed-size arrays, so only 8-byte and 1 KiB values run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disruptor::wait_strategies::WaitStrategy;
use disruptor::{
    build_single_producer, EventPoller, Polling, ProcessorSettings, Producer, Sequence,
    SingleProducerBarrier,
};

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

/// A handler folding every event into a tally that it publishes to `out` once it has
/// handled the event of sequence `last` (the run's last record).
///
/// Once, not at each end of batch: a handler close behind its producer ends a batch at
/// nearly every event in the single-record workload, and a lock per batch was a cost of
/// this harness that the crate does not have.
fn handler<const B: usize>(
    out: Arc<Mutex<Tally>>,
    last: Sequence,
) -> impl FnMut(&Slot<B>, Sequence, bool) + Send + 'static {
    let mut tally = Tally::default();
    move |slot, sequence, _end_of_batch| {
        tally.add(&slot.0);
        if sequence == last {
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

/// Publish records `batch` (sequence numbers) as one produce call: one `try_publish` for a
/// single record, else one `try_batch_publish`, retried with a yield while the ring is full.
fn publish<const B: usize, P: Producer<Slot<B>>>(producer: &mut P, batch: std::ops::Range<u64>) {
    if batch.end - batch.start == 1 {
        let sequence = batch.start;
        while producer
            .try_publish(|slot| encode_value(sequence, &mut slot.0))
            .is_err()
        {
            wait_briefly();
        }
    } else {
        let n = (batch.end - batch.start) as usize;
        while producer
            .try_batch_publish(n, |slots| {
                for (slot, sequence) in slots.zip(batch.clone()) {
                    encode_value(sequence, &mut slot.0);
                }
            })
            .is_err()
        {
            wait_briefly();
        }
    }
}

/// Publish every record, then drop the producer (which waits for every handler to finish).
fn publish_all<const B: usize, P: Producer<Slot<B>>>(
    mut producer: P,
    workload: &FanOut,
) -> Duration {
    let started = Instant::now();
    let batch = workload.batch_records as u64;
    let mut written = 0;
    while written < workload.records {
        let end = (written + batch).min(workload.records);
        publish(&mut producer, written..end);
        written = end;
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
    // The sequence of the run's last record (none when it has none: the tallies stay empty).
    let last = workload.records as Sequence - 1;
    // Consumer `c` is thread `c + 1` of the run, the producer thread 0.
    let builder = build_single_producer(ring_slots(B), || Slot([0u8; B]), Yielding);
    let builder = placed(builder, 1).handle_events_with(handler::<B>(Arc::clone(&outs[0]), last));
    // The builder's type changes from one consumer to several, hence two arms.
    let elapsed = if workload.consumers == 1 {
        let producer = builder.build();
        placement::run_pinned(0, || publish_all::<B, _>(producer, workload))
    } else {
        let mut builder =
            placed(builder, 2).handle_events_with(handler::<B>(Arc::clone(&outs[1]), last));
        for (consumer, out) in outs.iter().enumerate().skip(2) {
            builder = placed(builder, consumer + 1)
                .handle_events_with(handler::<B>(Arc::clone(out), last));
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

/// A poller of the ring's one stage: its dependency is the producer's cursor.
type Poller<const B: usize> = EventPoller<Slot<B>, SingleProducerBarrier>;

/// One consumer of a fan-out with pollers: every record, at most `batch_records` per poll
/// (`EventPoller::take`), yielding when none is ready.
fn drain_poller<const B: usize>(poller: &mut Poller<B>, workload: &FanOut) -> Tally {
    let mut tally = Tally::default();
    let mut read = 0;
    let limit = workload.batch_records as u64;
    while read < workload.records {
        match poller.take(limit) {
            Ok(mut events) => {
                for slot in &mut events {
                    tally.add(&slot.0);
                    read += 1;
                }
            }
            Err(Polling::NoEvents) => wait_briefly(),
            Err(Polling::Shutdown) => break,
        }
    }
    tally
}

/// The timed fan-out: consumer `c` drains `pollers[c]` on a thread of the run's own (as the
/// engine's readers and every other peer's consumers do), `producer` publishes.
fn time_polled<const B: usize>(
    workload: &FanOut,
    pollers: Vec<Poller<B>>,
    mut producer: impl Producer<Slot<B>> + Send,
) -> Run {
    // Each consumer thread takes its own poller mutably from a shared list.
    let pollers: Vec<Mutex<Poller<B>>> = pollers.into_iter().map(Mutex::new).collect();
    workload.time_consumers(
        |consumer| drain_poller(&mut pollers[consumer].lock().unwrap(), workload),
        |batch| publish(&mut producer, batch),
    )
}

/// The fan-out with one poller per consumer.
fn fan_out_polled<const B: usize>(workload: &FanOut) -> Run {
    assert!(
        workload.batch_records <= ring_slots(B),
        "a batch must fit the ring"
    );
    let builder = build_single_producer(ring_slots(B), || Slot([0u8; B]), Yielding);
    let (first, builder) = builder.new_event_poller();
    // The builder's type changes from one consumer to several, hence two arms.
    if workload.consumers == 1 {
        time_polled(workload, vec![first], builder.build())
    } else {
        let (second, mut builder) = builder.new_event_poller();
        let mut pollers = vec![first, second];
        for _ in 2..workload.consumers {
            let (poller, next) = builder.new_event_poller();
            pollers.push(poller);
            builder = next;
        }
        time_polled(workload, pollers, builder.build())
    }
}

/// The disruptor peer read through its pollers.
#[derive(Debug)]
pub struct DisruptorPoller;

impl System for DisruptorPoller {
    const NAME: &'static str = "disruptor_poller";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => fan_out_polled::<B>(workload))
    }

    fn group_scaling(_workload: &GroupScaling) -> Option<Run> {
        None
    }

    fn produce(_workload: &Produce) -> Option<Run> {
        None
    }

    fn latency(_workload: &Latency) -> Option<Run> {
        None
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
