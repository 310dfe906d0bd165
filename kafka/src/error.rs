//! What can go wrong between an op and a broker's answer, and how broker errors map to the
//! model's error names.
//!
//! A broker's refusal is an answer: it becomes the model's [`ErrorCode`] (Kafka's numeric
//! code, as the model's vocabulary names it) and is compared like any reply. Everything else
//! is an [`AdapterError`]: the adapter could not express the op through the Kafka protocol
//! and librdkafka ([`AdapterErrorKind::Unsupported`]), the client failed before the broker
//! answered, or the broker gave an error that has no name in the model. These are reported
//! as what they are, naming the API, and never turned into a model error, so a flaw of the
//! adapter is never mistaken for a finding about the broker.

use std::fmt;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use streamspec_model::ErrorCode;

/// Why the adapter has no model answer for an op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterErrorKind {
    /// The op cannot be expressed through librdkafka (for example a join with a chosen
    /// member id, or a producer id handed out to the caller).
    Unsupported(String),
    /// The broker answered with an error the model has no name for (Kafka's name is kept).
    UnmappedBrokerError(String),
    /// The client failed before the broker answered (connection, local validation).
    Client(String),
    /// No answer within the adapter's time limit; the op may or may not have happened.
    Timeout(String),
}

/// An op the adapter could not turn into a model answer, with the Kafka API it needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterError {
    /// The Kafka API (or librdkafka call) involved: `"JoinGroup"`, `"Produce"`, ...
    pub api: &'static str,
    /// What went wrong.
    pub kind: AdapterErrorKind,
}

impl AdapterError {
    /// The op needs something librdkafka does not offer.
    pub fn unsupported(api: &'static str, why: impl Into<String>) -> AdapterError {
        AdapterError {
            api,
            kind: AdapterErrorKind::Unsupported(why.into()),
        }
    }

    /// The client failed.
    pub fn client(api: &'static str, why: impl Into<String>) -> AdapterError {
        AdapterError {
            api,
            kind: AdapterErrorKind::Client(why.into()),
        }
    }

    /// No answer in time.
    pub fn timeout(api: &'static str, why: impl Into<String>) -> AdapterError {
        AdapterError {
            api,
            kind: AdapterErrorKind::Timeout(why.into()),
        }
    }

    /// Whether the op certainly did not take effect on the broker (the adapter refused it
    /// before sending anything). Otherwise the outcome is unknown (a history's `info`).
    pub fn certainly_not_applied(&self) -> bool {
        matches!(self.kind, AdapterErrorKind::Unsupported(_))
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AdapterErrorKind::Unsupported(why) => {
                write!(f, "{}: unsupported by the kafka adapter: {why}", self.api)
            }
            AdapterErrorKind::UnmappedBrokerError(name) => write!(
                f,
                "{}: the broker answered {name}, which has no name in the model",
                self.api
            ),
            AdapterErrorKind::Client(why) => write!(f, "{}: client error: {why}", self.api),
            AdapterErrorKind::Timeout(why) => write!(f, "{}: no answer in time: {why}", self.api),
        }
    }
}

impl std::error::Error for AdapterError {}

/// The model's name for a broker (or librdkafka) error code, if it has one.
///
/// Kafka's wire codes map one to one (`ErrorCode::kafka_code`). librdkafka's local codes map
/// only where they stand for a broker's answer that librdkafka handled itself: an unknown
/// partition or topic seen in metadata is Kafka's `UNKNOWN_TOPIC_OR_PARTITION`, and
/// `_AUTO_OFFSET_RESET` with `auto.offset.reset=error` is the broker's `OFFSET_OUT_OF_RANGE`.
pub fn model_error(code: RDKafkaErrorCode) -> Option<ErrorCode> {
    use RDKafkaErrorCode as K;
    let wire = code as i32;
    if wire > 0 {
        return ErrorCode::ALL
            .into_iter()
            .find(|model| model.kafka_code().map(i32::from) == Some(wire));
    }
    match code {
        K::UnknownPartition | K::UnknownTopic => Some(ErrorCode::UnknownTopicOrPartition),
        K::AutoOffsetReset => Some(ErrorCode::OffsetOutOfRange),
        _ => None,
    }
}

/// Turn a librdkafka error into the model's error (a broker's refusal) or an adapter error.
pub fn classify(api: &'static str, error: &KafkaError) -> Result<ErrorCode, AdapterError> {
    let Some(code) = error.rdkafka_error_code() else {
        return Err(AdapterError::client(api, error.to_string()));
    };
    if let Some(model) = model_error(code) {
        return Ok(model);
    }
    Err(classify_unmapped(api, code, error.to_string()))
}

/// An error code the model has no name for: a timeout, a client failure, or a broker error
/// outside the model's vocabulary.
pub fn classify_unmapped(api: &'static str, code: RDKafkaErrorCode, text: String) -> AdapterError {
    use RDKafkaErrorCode as K;
    let kind = match code {
        K::MessageTimedOut | K::OperationTimedOut | K::RequestTimedOut | K::TimedOutQueue => {
            AdapterErrorKind::Timeout(text)
        }
        code if (code as i32) > 0 => AdapterErrorKind::UnmappedBrokerError(format!("{code:?}")),
        _ => AdapterErrorKind::Client(text),
    };
    AdapterError { api, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: every model error with a Kafka code is reached from librdkafka's code of the
    /// same number, so broker refusals keep Kafka's names. Method: map each and compare.
    #[test]
    fn wire_codes_map_to_the_model_names_of_the_same_number() {
        let pairs = [
            (
                RDKafkaErrorCode::OffsetOutOfRange,
                ErrorCode::OffsetOutOfRange,
            ),
            (
                RDKafkaErrorCode::UnknownTopicOrPartition,
                ErrorCode::UnknownTopicOrPartition,
            ),
            (
                RDKafkaErrorCode::MessageSizeTooLarge,
                ErrorCode::MessageTooLarge,
            ),
            (
                RDKafkaErrorCode::MessageBatchTooLarge,
                ErrorCode::RecordListTooLarge,
            ),
            (
                RDKafkaErrorCode::InvalidTopic,
                ErrorCode::InvalidTopicException,
            ),
            (
                RDKafkaErrorCode::TopicAlreadyExists,
                ErrorCode::TopicAlreadyExists,
            ),
            (
                RDKafkaErrorCode::InvalidPartitions,
                ErrorCode::InvalidPartitions,
            ),
            (RDKafkaErrorCode::InvalidConfig, ErrorCode::InvalidConfig),
            (RDKafkaErrorCode::InvalidGroupId, ErrorCode::InvalidGroupId),
            (
                RDKafkaErrorCode::GroupMaxSizeReached,
                ErrorCode::GroupMaxSizeReached,
            ),
            (
                RDKafkaErrorCode::UnknownProducerId,
                ErrorCode::UnknownProducerId,
            ),
            (
                RDKafkaErrorCode::OffsetMetadataTooLarge,
                ErrorCode::OffsetMetadataTooLarge,
            ),
            (
                RDKafkaErrorCode::IllegalGeneration,
                ErrorCode::IllegalGeneration,
            ),
            (
                RDKafkaErrorCode::InconsistentGroupProtocol,
                ErrorCode::InconsistentGroupProtocol,
            ),
            (
                RDKafkaErrorCode::UnknownMemberId,
                ErrorCode::UnknownMemberId,
            ),
            (
                RDKafkaErrorCode::InvalidSessionTimeout,
                ErrorCode::InvalidSessionTimeout,
            ),
            (
                RDKafkaErrorCode::RebalanceInProgress,
                ErrorCode::RebalanceInProgress,
            ),
            (RDKafkaErrorCode::InvalidRequest, ErrorCode::InvalidRequest),
            (
                RDKafkaErrorCode::PolicyViolation,
                ErrorCode::PolicyViolation,
            ),
            (
                RDKafkaErrorCode::OutOfOrderSequenceNumber,
                ErrorCode::OutOfOrderSequenceNumber,
            ),
            (
                RDKafkaErrorCode::InvalidProducerEpoch,
                ErrorCode::InvalidProducerEpoch,
            ),
        ];
        for (rdkafka, model) in pairs {
            assert_eq!(model_error(rdkafka), Some(model), "{rdkafka:?}");
        }
        // Every model error with a wire code is covered above.
        let wire_count = ErrorCode::ALL
            .iter()
            .filter(|code| code.kafka_code().is_some())
            .count();
        assert_eq!(pairs.len(), wire_count);
    }

    /// Goal: errors outside the model's vocabulary are not dressed up as model errors.
    #[test]
    fn unknown_codes_stay_adapter_errors_naming_the_api() {
        assert_eq!(model_error(RDKafkaErrorCode::InvalidTimestamp), None);
        assert_eq!(model_error(RDKafkaErrorCode::AllBrokersDown), None);
        let error = classify_unmapped("Produce", RDKafkaErrorCode::InvalidTimestamp, "x".into());
        assert_eq!(error.api, "Produce");
        assert_eq!(
            error.kind,
            AdapterErrorKind::UnmappedBrokerError("InvalidTimestamp".into())
        );
        let timeout = classify_unmapped("Produce", RDKafkaErrorCode::MessageTimedOut, "t".into());
        assert!(matches!(timeout.kind, AdapterErrorKind::Timeout(_)));
        assert!(!timeout.certainly_not_applied());
        assert!(AdapterError::unsupported("JoinGroup", "why").certainly_not_applied());
        assert!(
            AdapterError::unsupported("JoinGroup", "member id chosen by the broker")
                .to_string()
                .contains("JoinGroup: unsupported")
        );
    }
}
