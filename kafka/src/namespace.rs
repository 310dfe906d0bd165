//! Names on a shared broker: a prefix per run (and per trace) so that runs never meet.
//!
//! The model starts empty for every trace; a live broker does not. Every legal topic name and
//! group id of an op gets the namespace's prefix on the way to the broker, and loses it on the
//! way back. Names the model refuses (illegal topic names, empty or overlong group ids) and
//! names that would grow past Kafka's length limits are sent exactly as given, so the broker
//! judges the name the trace holds.

use streamspec_model::config::{ID_LENGTH_MAX, TOPIC_NAME_LENGTH_MAX};
use streamspec_model::topic::is_legal_topic_name;

/// A prefix for topic names and group ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    prefix: String,
}

impl Namespace {
    /// A namespace with this prefix (which must itself be legal in topic names).
    pub fn new(prefix: impl Into<String>) -> Namespace {
        let prefix = prefix.into();
        debug_assert!(prefix.is_empty() || is_legal_topic_name(&prefix));
        Namespace { prefix }
    }

    /// No prefix: names go to the broker as they are.
    pub fn none() -> Namespace {
        Namespace::new("")
    }

    /// A child namespace: this prefix followed by `part` and a dot.
    pub fn child(&self, part: &str) -> Namespace {
        Namespace::new(format!("{}{part}.", self.prefix))
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The broker's name for a topic.
    pub fn topic(&self, topic: &str) -> String {
        let prefixed = format!("{}{topic}", self.prefix);
        if is_legal_topic_name(topic) && prefixed.len() <= TOPIC_NAME_LENGTH_MAX {
            prefixed
        } else {
            topic.to_string()
        }
    }

    /// The broker's name for a group id.
    pub fn group(&self, group: &str) -> String {
        let prefixed = format!("{}{group}", self.prefix);
        if !group.is_empty() && prefixed.len() <= ID_LENGTH_MAX {
            prefixed
        } else {
            group.to_string()
        }
    }

    /// The model's name for a topic the broker named.
    pub fn model_topic(&self, broker_topic: &str) -> String {
        broker_topic
            .strip_prefix(&self.prefix)
            .unwrap_or(broker_topic)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: legal names round-trip through the prefix; names the model refuses reach the
    /// broker unchanged, so the broker's own answer to them is what gets compared.
    #[test]
    fn legal_names_are_prefixed_and_illegal_ones_pass_unchanged() {
        let names = Namespace::new("run1.").child("t3");
        assert_eq!(names.prefix(), "run1.t3.");
        assert_eq!(names.topic("orders"), "run1.t3.orders");
        assert_eq!(names.model_topic("run1.t3.orders"), "orders");
        assert_eq!(names.topic("bad name"), "bad name");
        assert_eq!(names.topic(".."), "..");
        let longest = "a".repeat(TOPIC_NAME_LENGTH_MAX);
        assert_eq!(names.topic(&longest), longest);
        assert_eq!(names.group(""), "");
        assert_eq!(names.group("g"), "run1.t3.g");
        let long_group = "g".repeat(ID_LENGTH_MAX);
        assert_eq!(names.group(&long_group), long_group);
        assert_eq!(Namespace::none().topic("orders"), "orders");
    }
}
