//! Topics: legal names, config validation, and a topic's partitions.

use crate::config::{TopicConfig, MAX_MESSAGE_BYTES_LIMIT, TOPIC_NAME_LENGTH_MAX};
use crate::error::ErrorCode;
use crate::partition::PartitionLog;

/// A topic: its config, its partitions, and the counter keyless produce uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topic {
    /// Its configuration.
    pub(crate) config: TopicConfig,
    /// Its partitions, by index.
    pub(crate) partitions: Vec<PartitionLog>,
    /// The round-robin counter for keyless batches: the next keyless batch goes to
    /// `keyless_next % partitions`. Advances only when a batch is appended.
    pub(crate) keyless_next: u64,
}

impl Topic {
    /// A topic with `partitions` empty partitions.
    pub fn new(partition_count: i32, config: TopicConfig) -> Topic {
        Topic {
            config,
            partitions: (0..partition_count).map(|_| PartitionLog::new()).collect(),
            keyless_next: 0,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &TopicConfig {
        &self.config
    }

    /// How many partitions it has.
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    /// Partition `partition`, if it exists.
    pub fn partition(&self, partition: i32) -> Option<&PartitionLog> {
        self.partitions.get(usize::try_from(partition).ok()?)
    }

    /// Partition `partition` for writing, if it exists.
    pub(crate) fn partition_mut(&mut self, partition: i32) -> Option<&mut PartitionLog> {
        self.partitions.get_mut(usize::try_from(partition).ok()?)
    }

    /// The partition the round-robin counter picks for the next keyless batch.
    pub fn keyless_partition(&self) -> i32 {
        (self.keyless_next % self.partitions.len() as u64) as i32
    }
}

/// Kafka's legal topic name: 1..=249 bytes, each in `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn is_legal_topic_name(name: &str) -> bool {
    (1..=TOPIC_NAME_LENGTH_MAX).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Step 4 of `create_topic`: every config value in range, else `invalid_config`.
pub fn validate_config(config: &TopicConfig) -> Result<(), ErrorCode> {
    if config.retention_ms < -1
        || config.retention_bytes < -1
        || !(1..=MAX_MESSAGE_BYTES_LIMIT).contains(&config.max_message_bytes)
    {
        return Err(ErrorCode::InvalidConfig);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_names_follow_kafka() {
        for name in ["orders", "a", "A.b_c-9", "...", &"x".repeat(249)] {
            assert!(is_legal_topic_name(name), "{name}");
        }
        for name in ["", ".", "..", "bad name!", "t/1", "é", &"x".repeat(250)] {
            assert!(!is_legal_topic_name(name), "{name}");
        }
    }

    #[test]
    fn config_values_out_of_range_are_invalid() {
        let ok = TopicConfig::default();
        assert_eq!(validate_config(&ok), Ok(()));
        let forever = TopicConfig {
            retention_ms: -1,
            retention_bytes: -1,
            max_message_bytes: MAX_MESSAGE_BYTES_LIMIT,
            ..ok.clone()
        };
        assert_eq!(validate_config(&forever), Ok(()));
        let bad = [
            TopicConfig {
                retention_ms: -2,
                ..ok.clone()
            },
            TopicConfig {
                retention_bytes: -2,
                ..ok.clone()
            },
            TopicConfig {
                max_message_bytes: 0,
                ..ok.clone()
            },
            TopicConfig {
                max_message_bytes: MAX_MESSAGE_BYTES_LIMIT + 1,
                ..ok.clone()
            },
        ];
        for config in bad {
            assert_eq!(
                validate_config(&config),
                Err(ErrorCode::InvalidConfig),
                "{config:?}"
            );
        }
    }

    #[test]
    fn keyless_batches_go_round_robin() {
        let mut topic = Topic::new(3, TopicConfig::default());
        let mut picked = vec![];
        for _ in 0..4 {
            picked.push(topic.keyless_partition());
            topic.keyless_next += 1;
        }
        assert_eq!(picked, [0, 1, 2, 0]);
        assert_eq!(topic.partition(3), None);
        assert_eq!(topic.partition(-1), None);
        assert_eq!(topic.partition_count(), 3);
    }
}
