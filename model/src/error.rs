//! The error vocabulary: one small enum of Kafka's error names.
//!
//! Every name is Kafka's own error code name in snake_case (`UNKNOWN_TOPIC_OR_PARTITION` is
//! `unknown_topic_or_partition`), except the few marked *client-side*, which Kafka raises in
//! its consumer rather than on the wire; they keep the name of Kafka's exception class.
//! Traces, histories and the command line spell errors exactly as [`ErrorCode::name`] does.

use serde::{Deserialize, Serialize};

/// Why an operation was refused. Refused operations change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Kafka 3: the topic or the partition does not exist.
    UnknownTopicOrPartition,
    /// Kafka 17: the topic name is not legal (`[a-zA-Z0-9._-]`, 1..=249 chars, not `.`/`..`).
    InvalidTopicException,
    /// Kafka 36: a topic of that name already exists.
    TopicAlreadyExists,
    /// Kafka 37: the partition count is out of range.
    InvalidPartitions,
    /// Kafka 40: a topic config value is out of range or inconsistent.
    InvalidConfig,
    /// Kafka 10: a batch is larger than the topic's `max_message_bytes`.
    MessageTooLarge,
    /// Kafka 18: a batch has more records than the limit allows.
    RecordListTooLarge,
    /// Kafka 1: the offset is below the log start or above the high watermark.
    OffsetOutOfRange,
    /// Kafka 45: an idempotent batch's sequence is not the next one expected.
    OutOfOrderSequenceNumber,
    /// Kafka 47: an idempotent batch carries an epoch older (or newer) than the producer's.
    InvalidProducerEpoch,
    /// Kafka 59: an idempotent batch names a producer id that was never issued.
    UnknownProducerId,
    /// Kafka 24: the group id is empty or too long.
    InvalidGroupId,
    /// Kafka 25: the member is not (or no longer) in the group.
    UnknownMemberId,
    /// Kafka 22: the generation is not the group's current one.
    IllegalGeneration,
    /// Kafka 27: the group has moved to a new generation; the member must rejoin.
    RebalanceInProgress,
    /// Kafka 23: the member asks for an assignor the group does not use.
    InconsistentGroupProtocol,
    /// Kafka 26: the session timeout is outside the allowed range.
    InvalidSessionTimeout,
    /// Kafka 81: the group already has the maximum number of members.
    GroupMaxSizeReached,
    /// Kafka 12: commit metadata is longer than the limit.
    OffsetMetadataTooLarge,
    /// Kafka 42: the request is malformed (a count or size that makes no sense).
    InvalidRequest,
    /// Kafka 44: a limit or policy of this implementation refuses the request: a topic, group
    /// or producer-id count would be exceeded (the model), or, in the engine only, a partition
    /// retains as many records as it can or another producer holds it exclusively.
    PolicyViolation,
    /// Client-side (`NoOffsetForPartitionException`): no committed offset and the reset
    /// policy is `none`.
    NoOffsetForPartition,
}

impl ErrorCode {
    /// Every error code, in declaration order.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::UnknownTopicOrPartition,
        ErrorCode::InvalidTopicException,
        ErrorCode::TopicAlreadyExists,
        ErrorCode::InvalidPartitions,
        ErrorCode::InvalidConfig,
        ErrorCode::MessageTooLarge,
        ErrorCode::RecordListTooLarge,
        ErrorCode::OffsetOutOfRange,
        ErrorCode::OutOfOrderSequenceNumber,
        ErrorCode::InvalidProducerEpoch,
        ErrorCode::UnknownProducerId,
        ErrorCode::InvalidGroupId,
        ErrorCode::UnknownMemberId,
        ErrorCode::IllegalGeneration,
        ErrorCode::RebalanceInProgress,
        ErrorCode::InconsistentGroupProtocol,
        ErrorCode::InvalidSessionTimeout,
        ErrorCode::GroupMaxSizeReached,
        ErrorCode::OffsetMetadataTooLarge,
        ErrorCode::InvalidRequest,
        ErrorCode::PolicyViolation,
        ErrorCode::NoOffsetForPartition,
    ];

    /// The snake_case name used in traces, histories and reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownTopicOrPartition => "unknown_topic_or_partition",
            ErrorCode::InvalidTopicException => "invalid_topic_exception",
            ErrorCode::TopicAlreadyExists => "topic_already_exists",
            ErrorCode::InvalidPartitions => "invalid_partitions",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RecordListTooLarge => "record_list_too_large",
            ErrorCode::OffsetOutOfRange => "offset_out_of_range",
            ErrorCode::OutOfOrderSequenceNumber => "out_of_order_sequence_number",
            ErrorCode::InvalidProducerEpoch => "invalid_producer_epoch",
            ErrorCode::UnknownProducerId => "unknown_producer_id",
            ErrorCode::InvalidGroupId => "invalid_group_id",
            ErrorCode::UnknownMemberId => "unknown_member_id",
            ErrorCode::IllegalGeneration => "illegal_generation",
            ErrorCode::RebalanceInProgress => "rebalance_in_progress",
            ErrorCode::InconsistentGroupProtocol => "inconsistent_group_protocol",
            ErrorCode::InvalidSessionTimeout => "invalid_session_timeout",
            ErrorCode::GroupMaxSizeReached => "group_max_size_reached",
            ErrorCode::OffsetMetadataTooLarge => "offset_metadata_too_large",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PolicyViolation => "policy_violation",
            ErrorCode::NoOffsetForPartition => "no_offset_for_partition",
        }
    }

    /// Kafka's numeric error code, or `None` for the client-side ones.
    pub fn kafka_code(self) -> Option<i16> {
        Some(match self {
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::OffsetMetadataTooLarge => 12,
            ErrorCode::InvalidTopicException => 17,
            ErrorCode::RecordListTooLarge => 18,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::InvalidGroupId => 24,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::InvalidSessionTimeout => 26,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::TopicAlreadyExists => 36,
            ErrorCode::InvalidPartitions => 37,
            ErrorCode::InvalidConfig => 40,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::PolicyViolation => 44,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::UnknownProducerId => 59,
            ErrorCode::GroupMaxSizeReached => 81,
            ErrorCode::NoOffsetForPartition => return None,
        })
    }

    /// The code whose [`name`](ErrorCode::name) is `name`.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.name() == name)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.name()));
            assert_eq!(ErrorCode::from_name(code.name()), Some(code));
        }
        assert_eq!(ErrorCode::from_name("no_such_error"), None);
    }

    #[test]
    fn kafka_codes_are_distinct() {
        let mut codes: Vec<i16> = ErrorCode::ALL
            .iter()
            .filter_map(|c| c.kafka_code())
            .collect();
        let count = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), count);
    }
}
