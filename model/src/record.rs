//! Records as a producer sends them and as a fetch returns them.
//!
//! Keys, values and header values are arbitrary bytes ([`Bytes`]). In JSON they are written as
//! a plain string when they are valid UTF-8 (the common case, and readable in a trace), and as
//! `{"base64": "..."}` otherwise; both forms are accepted on input.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Arbitrary bytes: a record key, value or header value.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes as a slice.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Bytes {
    fn from(text: &str) -> Bytes {
        Bytes(text.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Bytes {
        Bytes(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Bytes {
        Bytes(bytes.to_vec())
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "b64:{}", base64::encode(&self.0)),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("base64", &base64::encode(&self.0))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Encoded { base64: String },
        }
        match Repr::deserialize(deserializer)? {
            Repr::Text(text) => Ok(Bytes(text.into_bytes())),
            Repr::Encoded { base64: text } => base64::decode(&text)
                .map(Bytes)
                .ok_or_else(|| serde::de::Error::custom("invalid base64 in {\"base64\": ...}")),
        }
    }
}

/// A record header: a string key and optional bytes (Kafka allows a null header value).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// The header value; `None` is Kafka's null.
    #[serde(default)]
    pub value: Option<Bytes>,
}

/// A record as a producer sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    /// The key; `None` is a keyless record (any partition may take it).
    #[serde(default)]
    pub key: Option<Bytes>,
    /// The value; `None` is Kafka's null value (a tombstone).
    #[serde(default)]
    pub value: Option<Bytes>,
    /// Headers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    /// The producer's CreateTime; `None` means "now" on the model's logical clock. Ignored by
    /// topics with `LogAppendTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
}

impl Record {
    /// A record with only a value.
    pub fn value(value: impl Into<Bytes>) -> Record {
        Record {
            value: Some(value.into()),
            ..Record::default()
        }
    }

    /// A record with a key and a value.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Record {
        Record {
            key: Some(key.into()),
            value: Some(value.into()),
            ..Record::default()
        }
    }

    /// The record's size for `max_message_bytes` and `retention_bytes`: see [`record_size_bytes`].
    pub fn size_bytes(&self) -> u64 {
        record_size_bytes(self.key.as_ref(), self.value.as_ref(), &self.headers)
    }
}

/// A record as it is stored at an offset and returned by fetch and poll.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Its offset in the partition.
    pub offset: i64,
    /// Its timestamp: the producer's CreateTime, or the LogAppendTime.
    pub timestamp_ms: i64,
    /// The key.
    #[serde(default)]
    pub key: Option<Bytes>,
    /// The value.
    #[serde(default)]
    pub value: Option<Bytes>,
    /// Headers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
}

impl StoredRecord {
    /// The record's size: see [`record_size_bytes`].
    pub fn size_bytes(&self) -> u64 {
        record_size_bytes(self.key.as_ref(), self.value.as_ref(), &self.headers)
    }
}

/// The fixed size every record is charged beyond its payload, in bytes, for
/// `max_message_bytes`, `retention_bytes` and fetch `max_bytes`. Kafka's on-disk record costs
/// a varint-encoded header of roughly this size; a fixed figure keeps the model exact.
pub const RECORD_OVERHEAD_BYTES: u64 = 16;

/// The size of one record, the one formula used by every size limit:
/// `RECORD_OVERHEAD_BYTES + len(key) + len(value) + sum(len(header.key) + len(header.value))`,
/// where a null key, value or header value counts 0.
pub fn record_size_bytes(key: Option<&Bytes>, value: Option<&Bytes>, headers: &[Header]) -> u64 {
    let payload = |bytes: Option<&Bytes>| bytes.map_or(0, |b| b.len() as u64);
    let headers_bytes: u64 = headers
        .iter()
        .map(|h| h.key.len() as u64 + payload(h.value.as_ref()))
        .sum();
    RECORD_OVERHEAD_BYTES + payload(key) + payload(value) + headers_bytes
}

/// A tiny standard base64 codec (RFC 4648, with padding), so the model needs no dependency.
mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        if !text.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        for chunk in text.chunks(4) {
            let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 {
                return None;
            }
            let mut n: u32 = 0;
            for (i, &c) in chunk.iter().enumerate() {
                let sextet = if i >= 4 - pad {
                    0
                } else {
                    ALPHABET.iter().position(|&a| a == c)? as u32
                };
                n = (n << 6) | sextet;
            }
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&decoded[..3 - pad]);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes_are_plain_strings_and_others_are_base64() {
        let text = Bytes::from("{order_id: 1, item: 'book'}");
        assert_eq!(
            serde_json::to_string(&text).unwrap(),
            "\"{order_id: 1, item: 'book'}\""
        );
        let binary = Bytes(vec![0xff, 0x00, 0x10]);
        let json = serde_json::to_string(&binary).unwrap();
        assert_eq!(json, r#"{"base64":"/wAQ"}"#);
        assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), binary);
        assert!(serde_json::from_str::<Bytes>(r#"{"base64":"!!"}"#).is_err());
    }

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(200))
                .collect();
            assert_eq!(base64::decode(&base64::encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64::encode(b"Man"), "TWFu");
        assert_eq!(base64::encode(b"Ma"), "TWE=");
        assert_eq!(base64::encode(b"M"), "TQ==");
    }

    #[test]
    fn size_counts_overhead_key_value_and_headers() {
        let record = Record {
            key: Some("k".into()),
            value: Some("value".into()),
            headers: vec![Header {
                key: "h".into(),
                value: Some("vv".into()),
            }],
            timestamp_ms: None,
        };
        assert_eq!(record.size_bytes(), RECORD_OVERHEAD_BYTES + 1 + 5 + 1 + 2);
        assert_eq!(Record::default().size_bytes(), RECORD_OVERHEAD_BYTES);
    }
}
