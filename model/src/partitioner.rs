//! Kafka's default partitioner for keyed records: `toPositive(murmur2(key)) % partitions`.
//!
//! [`murmur2`] is a bit-for-bit port of Kafka's `org.apache.kafka.common.utils.Utils.murmur2`
//! (MurmurHash2, 32 bits, seed `0x9747b28c`), so a key lands on the same partition here as it
//! does with Kafka's Java producer. Java's `int` arithmetic wraps and `>>>` is a logical shift,
//! so the port works on `u32` with wrapping multiplication and reinterprets the result as `i32`.

/// MurmurHash2's seed as Kafka fixes it.
const MURMUR2_SEED: u32 = 0x9747_b28c;
/// MurmurHash2's mixing constant.
const MURMUR2_M: u32 = 0x5bd1_e995;
/// MurmurHash2's mixing shift.
const MURMUR2_R: u32 = 24;

/// Kafka's `Utils.murmur2(byte[])`: the 32-bit MurmurHash2 of `data`, as Java's signed `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java computes `seed ^ length` on ints; a key longer than i32::MAX bytes cannot exist
    // in a Java byte[], so the truncating cast matches Kafka for every possible key.
    let mut h: u32 = MURMUR2_SEED ^ (data.len() as u32);

    let (chunks, tail) = data.as_chunks::<4>();
    for chunk in chunks {
        let mut k = u32::from_le_bytes(*chunk);
        k = k.wrapping_mul(MURMUR2_M);
        k ^= k >> MURMUR2_R;
        k = k.wrapping_mul(MURMUR2_M);
        h = h.wrapping_mul(MURMUR2_M);
        h ^= k;
    }

    // Java's `switch (length % 4)` falls through from case 3 to case 1.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(MURMUR2_M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(MURMUR2_M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which would overflow on
/// `i32::MIN`).
pub fn to_positive(number: i32) -> i32 {
    number & 0x7fff_ffff
}

/// The partition Kafka's default partitioner gives a keyed record:
/// `toPositive(murmur2(key)) % partitions`.
///
/// `partitions` is a topic's partition count, which is always at least 1; a count below 1
/// names no partition, and yields 0 rather than a division by zero.
pub fn kafka_partition(key: &[u8], partitions: i32) -> i32 {
    if partitions < 1 {
        return 0;
    }
    to_positive(murmur2(key)) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the hash is Kafka's, bit for bit. Method: the vectors of Kafka's own
    /// `UtilsTest.testMurmur2` (clients/src/test/java/org/apache/kafka/common/utils).
    #[test]
    fn murmur2_matches_kafkas_utils_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(
                murmur2(key),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(key)
            );
        }
    }

    /// Goal: every tail length (0..=3 trailing bytes) is folded in as Java's fall-through
    /// switch does. The vectors above cover tails 2 ("21", "foobar"), 0 ("a-little-bit-long-
    /// string", 24 bytes), 2 (26 bytes), 0 (48 bytes) and 3 ("abc"); these add tail 1 and the
    /// empty key, with values published by librdkafka's murmur2 test (rdmurmur2.c), which
    /// matches Java's.
    #[test]
    fn murmur2_matches_librdkafka_vectors_for_other_tail_lengths() {
        let cases: [(&[u8], u32); 7] = [
            (b"kafka", 0xd067_cf64),
            (b"giberish123456789", 0x8f55_2b0c),
            (b"1234", 0x9fc9_7b14),
            (b"234", 0xe7c0_09ca),
            (b"34", 0x8739_30da),
            (b"4", 0x5a4b_5ca1),
            (b"", 0x106e_08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(
                murmur2(key) as u32,
                expected,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
    }

    #[test]
    fn partition_is_the_positive_hash_modulo_the_count() {
        // murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166; % 50 = 16.
        assert_eq!(to_positive(-790_332_482), 1_357_151_166);
        assert_eq!(kafka_partition(b"foobar", 50), 16);
        assert_eq!(kafka_partition(b"foobar", 1), 0);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        for partitions in 1..=64 {
            let partition = kafka_partition(b"order-17", partitions);
            assert!((0..partitions).contains(&partition));
        }
    }

    #[test]
    fn a_count_below_one_names_partition_zero_without_panicking() {
        assert_eq!(kafka_partition(b"k", 0), 0);
        assert_eq!(kafka_partition(b"k", -3), 0);
    }
}
