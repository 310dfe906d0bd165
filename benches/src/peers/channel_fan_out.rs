//! Fan-out over crossbeam channels: one bounded channel per consumer, as deep as
//! [`in_flight_records`] (the disruptor's ring holds as many).
//!
//! The producer sends every record to every consumer's channel; a consumer receives from its
//! own. Nothing is retained: a record exists only while it is in flight. Single-record mode
//! sends each `[u8; B]` value by copy; batched mode builds one `Arc<[[u8; B]]>` per batch and
//! sends a clone of the `Arc` to each consumer (one allocation shared by all). Receivers block
//! (crossbeam parks the thread) when their channel is empty, as the producer does when one is
//! full.
//!
//! Group scaling: each of the 8 partitions is an unbounded channel prefilled with batches; a
//! member drains the channels of its partitions. Produce: producers send to one shared channel
//! or one channel each, drained after they joined. Latency: the consumer blocks in `recv`.
//!
//! Values are fixed-size arrays, so only the workloads' sizes (8 bytes and 1 KiB) run; other
//! sizes return `None`.

use std::sync::Arc;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::peers::in_flight_records;
use crate::workload::{
    encode_value, sequence_of, tally_sorted, FanOut, GroupScaling, Latency, Produce, Run, System,
    Tally, GROUP_PARTITIONS,
};

/// The crossbeam-channel fan-out peer.
#[derive(Debug)]
pub struct ChannelFanOut;

/// Runs `$body` with `$b` bound to the value size as a const, for the sizes the peer supports.
macro_rules! with_value_size {
    ($value_bytes:expr, $b:ident => $body:expr) => {
        match $value_bytes {
            8 => {
                const $b: usize = 8;
                Some($body)
            }
            1024 => {
                const $b: usize = 1024;
                Some($body)
            }
            _ => None,
        }
    };
}
pub(crate) use with_value_size;

/// One channel per consumer (or per partition): the senders and the receivers.
type Channels<T> = (Vec<Sender<T>>, Vec<Receiver<T>>);

fn record<const B: usize>(sequence: u64) -> [u8; B] {
    let mut value = [0; B];
    encode_value(sequence, &mut value);
    value
}

fn fan_out_single<const B: usize>(workload: &FanOut) -> Run {
    let (senders, receivers): Channels<[u8; B]> = (0..workload.consumers)
        .map(|_| bounded(in_flight_records(B)))
        .unzip();
    workload.time_consumers(
        |consumer| {
            let mut tally = Tally::default();
            for _ in 0..workload.records {
                tally.add(&receivers[consumer].recv().unwrap());
            }
            tally
        },
        |batch| {
            for sequence in batch {
                let value = record::<B>(sequence);
                for sender in &senders {
                    sender.send(value).unwrap();
                }
            }
        },
    )
}

type Batch<const B: usize> = Arc<[[u8; B]]>;

fn fan_out_batched<const B: usize>(workload: &FanOut) -> Run {
    let depth = (in_flight_records(B) / workload.batch_records).max(1);
    let (senders, receivers): Channels<Batch<B>> =
        (0..workload.consumers).map(|_| bounded(depth)).unzip();
    workload.time_consumers(
        |consumer| {
            let mut tally = Tally::default();
            while tally.count < workload.records {
                for value in receivers[consumer].recv().unwrap().iter() {
                    tally.add(value);
                }
            }
            tally
        },
        |batch| {
            let values: Batch<B> = batch.map(record::<B>).collect();
            for sender in &senders {
                sender.send(Arc::clone(&values)).unwrap();
            }
        },
    )
}

fn group_scaling_sized<const B: usize>(workload: &GroupScaling) -> Run {
    let partitions: Vec<Receiver<Vec<[u8; B]>>> = (0..GROUP_PARTITIONS)
        .map(|_| {
            let (sender, receiver) = unbounded();
            let batch = workload.batch_records as u64;
            let mut written = 0;
            while written < workload.records_per_partition {
                let end = (written + batch).min(workload.records_per_partition);
                sender
                    .send((written..end).map(record::<B>).collect())
                    .unwrap();
                written = end;
            }
            receiver
        })
        .collect();
    workload.time_members(|p| {
        let mut tally = Tally::default();
        while let Ok(batch) = partitions[p].try_recv() {
            for value in &batch {
                tally.add(value);
            }
        }
        tally
    })
}

fn produce_sized<const B: usize>(workload: &Produce) -> Run {
    let (senders, receivers): Channels<[u8; B]> =
        (0..workload.partitions()).map(|_| unbounded()).unzip();
    let elapsed = workload.time_producers(|producer| {
        let sender = &senders[producer % senders.len()];
        move |sequence| sender.send(record::<B>(sequence)).unwrap()
    });
    let sequences = receivers
        .iter()
        .flat_map(|receiver| receiver.try_iter().map(|v| sequence_of(&v)))
        .collect();
    Run {
        elapsed,
        tallies: vec![tally_sorted(sequences, workload.value_bytes)],
    }
}

fn latency_sized<const B: usize>(workload: &Latency) -> Run {
    let (sender, receiver) = bounded::<[u8; B]>(1);
    workload.time_round_trips(
        |acknowledged| {
            let mut tally = Tally::default();
            for position in 0..workload.round_trips {
                tally.add(&receiver.recv().unwrap());
                acknowledged.set(position + 1);
            }
            tally
        },
        |sequence| sender.send(record::<B>(sequence)).unwrap(),
    )
}

impl System for ChannelFanOut {
    const NAME: &'static str = "crossbeam_channel";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => if workload.batch_records == 1 {
            fan_out_single::<B>(workload)
        } else {
            fan_out_batched::<B>(workload)
        })
    }

    fn group_scaling(workload: &GroupScaling) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => group_scaling_sized::<B>(workload))
    }

    fn produce(workload: &Produce) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => produce_sized::<B>(workload))
    }

    fn latency(workload: &Latency) -> Option<Run> {
        with_value_size!(workload.value_bytes, B => latency_sized::<B>(workload))
    }
}
