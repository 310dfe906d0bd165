//! One segment of a partition log: a fixed number of record slots plus a byte arena.
//!
//! Layout (the record layout the fast fetch path is designed around):
//! - slots: [`SEGMENT_RECORDS`] slots of two words, slot `i` holding the record at offset
//!   `base_offset + i`: its timestamp and its location (or, for a value of at most
//!   [`HELD_VALUE_BYTES_MAX`] bytes appended by the exclusive producer, the value itself and
//!   a location word carrying its timestamp), each word in an array of its own, so that held
//!   values lie 8 to a cache line ([`HeldRun`]).
//! - `arena`: one contiguous byte buffer; the appenders of a segment reserve disjoint ranges of
//!   it with one `fetch_add` per batch, so a record's bytes are contiguous and a batch's records
//!   are adjacent (a fan-out reader streams the arena).
//! - records whose encoding exceeds [`INLINE_RECORD_BYTES_MAX`], or that no longer fit in the
//!   arena, live "out of line" in their own allocation and the slot holds its address.
//!
//! Slot encoding ([`Slot`]):
//! - inline: `timestamp_tagged = timestamp_ms ≥ 0`, `location = start (32 bits) | len (16) |
//!   meta (16)`, where `meta = key_len (13 bits) | KEY (bit 13) | VALUE (14) | HEADERS (15)`.
//! - inline plain value in a fixed run of two or more (zero-copy produce): `meta = run head + 1
//!   (13 bits) | VALUE`, the key length being 0 without a KEY flag: the record's timestamp is
//!   the run head's slot's (every record of a run has one timestamp), so completing a run of
//!   4096 stores 4098 words, not 8192. The run's end (one past its last slot) is in the
//!   timestamp word of its second slot, so a reader of values reads one location word per run
//!   ([`Segment::for_each_value`]), not one per record. The other members' timestamp words are not
//!   written (they may hold a recycled segment's old values) and never read as timestamps:
//!   [`Segment::slot`] resolves the head.
//! - out of line: `timestamp_tagged = !timestamp_ms < 0`, `location` = address of a heap block
//!   `[len: u32][meta32: u32][bytes]`, `meta32 = key_len (29 bits) | flags << 29`.
//! - held in the slot (a plain value of at most [`HELD_VALUE_BYTES_MAX`] bytes, appended
//!   by the exclusive producer, `log/lease.rs`, alone or in a batch of values of one length):
//!   `timestamp_tagged` = the value's bytes
//!   (native order, zero-padded), `location = timestamp_ms (48 bits) | (len + 1) << 48`. Its
//!   top 16 bits, 1 to 9, are a meta no other word has: an inline meta without the KEY flag
//!   has key length 0 unless it is plain (VALUE set), and an out-of-line address has its top
//!   16 bits clear. So the location word tells this form first, and the value word, which may
//!   be negative, is never read as an out-of-line tag ([`Slot::is_out_of_line`]). In the
//!   segment's held run a member's location word is its run head's until the run closes
//!   ([`HeldRun`]); [`Segment::slot`] resolves it.
//!   Why: a one-record append into the arena stores three words in three streams of cache
//!   lines (value, location, timestamp) and its reader loads two of them, each a line the
//!   producer is still writing; held in the slot, in the segment's held run ([`HeldRun`]),
//!   it stores its value word alone (the run's head holds the location word its members
//!   share) and a reader of values loads only that: 8 bytes a record of the lines the
//!   producer is writing, where a 16-byte cell of both words was 16 (`docs/PERFORMANCE.md`:
//!   the single-record fan-out).
//!
//! Record bytes: `[key][headers block][value]`, the headers block being `count` then per
//! header `key_len, value_code, key, value`, each number an LEB128 varint and `value_code`
//! `0` for a null value, else `len + 1` (a small header costs 3 bytes of framing).
//! The engine's own overhead per record is the 16-byte slot (plus the headers block framing and
//! arena slack); `docs/PERFORMANCE.md` states the measured figure.
//!
//! A segment is written only in slots the writer reserved (see `log.rs`), and read only below
//! the high watermark, which is published after the writes (Release/Acquire).

use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use streamspec_model::record::RECORD_OVERHEAD_BYTES;
use streamspec_model::{Bytes, Header, Record, StoredRecord};

use crate::sync::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Records per segment. A power of two so that offset → (segment, slot) is a shift and a mask.
/// 4096 slots × 16 bytes = 64 KiB of slots: large enough that per-segment costs (allocation,
/// directory entry, retention bookkeeping) vanish per record, small enough that retention frees
/// memory in fine steps. Loom builds use 4 so a model crosses segment boundaries quickly.
#[cfg(not(any(loom, miri)))]
pub const SEGMENT_RECORDS: u64 = 4096;
/// See the non-loom value.
#[cfg(loom)]
pub const SEGMENT_RECORDS: u64 = 4;
/// Under miri (interpreted, ~1000x slower) 64, so tests cross segments and free them cheaply.
#[cfg(all(miri, not(loom)))]
pub const SEGMENT_RECORDS: u64 = 64;
/// `log2(SEGMENT_RECORDS)`.
pub const SEGMENT_RECORDS_SHIFT: u32 = SEGMENT_RECORDS.trailing_zeros();

/// Longest value a slot holds itself instead of naming arena bytes (see the module docs): one
/// word.
pub const HELD_VALUE_BYTES_MAX: usize = 8;
/// Timestamps a held value's location word carries: below `2^48` ms (the year 10889). A later
/// timestamp takes the arena.
pub const HELD_VALUE_TIMESTAMP_MS_END: i64 = 1 << HELD_VALUE_TIMESTAMP_BITS;
const HELD_VALUE_TIMESTAMP_BITS: u32 = 48;

/// The length of the value a location word's slot holds, or `None` when it names arena bytes
/// or a block (the form's meta is `len + 1`, 1 to 9: see the module docs).
#[inline(always)]
fn held_value_len(location: u64) -> Option<usize> {
    let meta = (location >> HELD_VALUE_TIMESTAMP_BITS) as usize;
    (meta.wrapping_sub(1) <= HELD_VALUE_BYTES_MAX).then(|| meta - 1)
}

/// The location word of a held value of `len` bytes stamped `timestamp_ms` (see the module
/// docs).
#[inline(always)]
fn held_location(len: usize, timestamp_ms: i64) -> u64 {
    debug_assert!(len <= HELD_VALUE_BYTES_MAX);
    debug_assert!((0..HELD_VALUE_TIMESTAMP_MS_END).contains(&timestamp_ms));
    timestamp_ms as u64 | (len as u64 + 1) << HELD_VALUE_TIMESTAMP_BITS
}

/// The timestamp a held value's location word carries.
#[inline(always)]
fn held_timestamp_ms(location: u64) -> i64 {
    (location & (HELD_VALUE_TIMESTAMP_MS_END as u64 - 1)) as i64
}

/// Largest encoded record kept in the arena, in bytes; larger ones get their own allocation
/// (whose 8-byte header plus the slot stays within the 32-byte overhead budget). Also bounds
/// the 13-bit `key_len` and 16-bit `len` fields of an inline slot.
pub const INLINE_RECORD_BYTES_MAX: usize = 4096;
/// Smallest arena a segment gets, in bytes (1 byte per slot: a segment of out-of-line records
/// wastes little; a fresh partition's first segment grows its successors from its demand).
pub const ARENA_BYTES_MIN: usize = 4 * 1024;
/// Largest arena a segment gets, in bytes: every slot holding a maximal inline record.
pub const ARENA_BYTES_MAX: usize = SEGMENT_RECORDS as usize * INLINE_RECORD_BYTES_MAX;

const META_KEY: u32 = 1;
const META_VALUE: u32 = 2;
const META_HEADERS: u32 = 4;
const INLINE_KEY_LEN_BITS: u32 = 13;
/// The `meta` of an inline keyless, headerless, non-null value (a plain value): bit 14, so a
/// location word with these top 16 bits has bit 62 set, which no user-space address has.
/// Its low 13 bits are 0, or the run head + 1 (see the module docs).
const PLAIN_META: u32 = META_VALUE << INLINE_KEY_LEN_BITS;
/// The low 13 bits of an inline meta (key length, or run head + 1 for a plain value).
const INLINE_KEY_LEN_MASK: u32 = (1 << INLINE_KEY_LEN_BITS) - 1;

/// Whether a location word is an inline plain value's (any run head).
#[inline(always)]
fn is_plain(location: u64) -> bool {
    (location >> 48) as u32 & !INLINE_KEY_LEN_MASK == PLAIN_META
}

/// The slot whose timestamp a location word's record shares: its run head, or `None` when it
/// has its own.
#[inline(always)]
fn run_head(location: u64) -> Option<usize> {
    let meta = (location >> 48) as u32;
    (meta & !INLINE_KEY_LEN_MASK == PLAIN_META && meta & INLINE_KEY_LEN_MASK != 0)
        .then(|| (meta & INLINE_KEY_LEN_MASK) as usize - 1)
}
const OUT_OF_LINE_KEY_LEN_BITS: u32 = 29;
const OUT_OF_LINE_HEADER_BYTES: usize = 8;
const VARINT_BYTES_MAX: usize = 10;

/// A header value's length as framed: 0 for null, `len + 1` otherwise.
fn header_value_code(header: &Header) -> u64 {
    header.value.as_ref().map_or(0, |v| v.len() as u64 + 1)
}

/// Bytes of the LEB128 encoding of `value`.
fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// LEB128-encode `value` into `buffer`; returns the bytes used.
fn encode_varint(mut value: u64, buffer: &mut [u8; VARINT_BYTES_MAX]) -> &[u8] {
    let mut used = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buffer[used] = byte;
            return &buffer[..=used];
        }
        buffer[used] = byte | 0x80;
        used += 1;
    }
}

/// Decode a LEB128 value from the front of `bytes`; returns it and the rest.
fn decode_varint(bytes: &[u8]) -> (u64, &[u8]) {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(VARINT_BYTES_MAX) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, &bytes[i + 1..]);
        }
    }
    unreachable!("a varint written by encode_varint ends within {VARINT_BYTES_MAX} bytes")
}

/// One record slot's two words: its timestamp (sign-tagged) and its location, or a held value
/// and its location word. Stored in two arrays (`Segment::timestamps_tagged`, `locations`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Slot {
    /// `timestamp_ms` for an inline record, `!timestamp_ms` (negative) for an out-of-line one,
    /// the value's bytes for a value held in the slot.
    pub timestamp_tagged: i64,
    /// Inline: `start | len << 32 | meta << 48`; out of line: the heap block's address; held:
    /// `timestamp_ms | (len + 1) << 48`.
    pub location: u64,
}

impl Slot {
    /// The word of an inline plain value (keyless, headerless, non-null) of `len` bytes at
    /// arena position `arena_start`.
    #[inline(always)]
    pub fn plain(arena_start: u64, len: usize, timestamp_ms: i64) -> Slot {
        debug_assert!(len <= INLINE_RECORD_BYTES_MAX && timestamp_ms >= 0);
        Slot {
            timestamp_tagged: timestamp_ms,
            location: arena_start | (len as u64) << 32 | u64::from(PLAIN_META) << 48,
        }
    }

    /// The word of a plain value of `len` bytes (at most [`HELD_VALUE_BYTES_MAX`], the first
    /// `len` of `value`) held in its slot, with a timestamp below
    /// [`HELD_VALUE_TIMESTAMP_MS_END`].
    #[inline(always)]
    pub fn held_value(value: [u8; HELD_VALUE_BYTES_MAX], len: usize, timestamp_ms: i64) -> Slot {
        debug_assert!(len <= HELD_VALUE_BYTES_MAX);
        debug_assert!((0..HELD_VALUE_TIMESTAMP_MS_END).contains(&timestamp_ms));
        Slot {
            timestamp_tagged: i64::from_ne_bytes(value),
            location: held_location(len, timestamp_ms),
        }
    }

    /// Whether the record lives out of line (its location is a block address). A held value's
    /// first word may be negative too: the location word tells it apart.
    #[inline]
    pub fn is_out_of_line(&self) -> bool {
        self.timestamp_tagged < 0 && held_value_len(self.location).is_none()
    }

    /// Store `record` (encoded length `len`) in a block of its own; the word naming it.
    pub fn out_of_line(record: &RecordParts, len: usize) -> Slot {
        debug_assert!(record.timestamp_ms >= 0);
        let key_len = record.key.map_or(0, <[u8]>::len);
        let block = alloc_out_of_line(len, key_len, record.meta_flags());
        // SAFETY: the block has `len` bytes after its header, and is ours alone.
        unsafe { record.encode_to(block.add(OUT_OF_LINE_HEADER_BYTES)) };
        Slot {
            timestamp_tagged: !record.timestamp_ms,
            location: block as u64,
        }
    }

    /// Free the block of an out-of-line word that was never published (its batch was laid
    /// again elsewhere or abandoned); nothing for an inline word.
    ///
    /// # Safety
    /// The word came from [`Slot::out_of_line`], was never stored in a slot, and is freed once.
    pub unsafe fn free_unpublished(self) {
        if self.is_out_of_line() {
            // SAFETY: the caller's contract: a live block nobody else can reach.
            unsafe { free_out_of_line(self.location as *mut u8) };
        }
    }
}

/// The parts of a record to append, borrowed from whatever the caller holds.
#[derive(Clone, Copy, Debug)]
pub struct RecordParts<'a> {
    /// The key, `None` for a keyless record.
    pub key: Option<&'a [u8]>,
    /// The value, `None` for a null value.
    pub value: Option<&'a [u8]>,
    /// The headers, in order.
    pub headers: &'a [Header],
    /// The timestamp to store (already resolved against the clock and timestamp type).
    pub timestamp_ms: i64,
}

impl RecordParts<'_> {
    /// Bytes of the encoding `[key][headers block][value]`.
    pub fn encoded_len(&self) -> usize {
        let headers = if self.headers.is_empty() {
            0
        } else {
            varint_len(self.headers.len() as u64)
                + self
                    .headers
                    .iter()
                    .map(|h| {
                        varint_len(h.key.len() as u64)
                            + varint_len(header_value_code(h))
                            + h.key.len()
                            + h.value.as_ref().map_or(0, Bytes::len)
                    })
                    .sum::<usize>()
        };
        self.key.map_or(0, <[u8]>::len) + headers + self.value.map_or(0, <[u8]>::len)
    }

    fn meta_flags(&self) -> u32 {
        let mut flags = 0;
        if self.key.is_some() {
            flags |= META_KEY;
        }
        if self.value.is_some() {
            flags |= META_VALUE;
        }
        if !self.headers.is_empty() {
            flags |= META_HEADERS;
        }
        flags
    }

    /// Write the encoding to `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for `self.encoded_len()` writes and not read or written by any other
    /// thread until the record is published.
    #[inline]
    unsafe fn encode_to(&self, dst: *mut u8) {
        let mut cursor = dst;
        let mut put = |bytes: &[u8]| {
            // SAFETY: the caller guarantees `encoded_len` writable bytes at `dst`; the pieces
            // written here sum to exactly `encoded_len`.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), cursor, bytes.len());
                cursor = cursor.add(bytes.len());
            }
        };
        if let Some(key) = self.key {
            put(key);
        }
        if !self.headers.is_empty() {
            let mut varint = [0u8; VARINT_BYTES_MAX];
            put(encode_varint(self.headers.len() as u64, &mut varint));
            for header in self.headers {
                put(encode_varint(header.key.len() as u64, &mut varint));
                put(encode_varint(header_value_code(header), &mut varint));
                put(header.key.as_bytes());
                if let Some(value) = &header.value {
                    put(value.as_slice());
                }
            }
        }
        if let Some(value) = self.value {
            put(value);
        }
    }
}

/// A record as stored, borrowed from a segment for as long as the epoch guard is held.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'g> {
    /// Its timestamp.
    pub timestamp_ms: i64,
    /// Its key.
    pub key: Option<&'g [u8]>,
    /// Its value.
    pub value: Option<&'g [u8]>,
    /// The encoded headers block (without its count), empty when there are none.
    headers_block: &'g [u8],
    /// How many headers.
    header_count: u32,
    /// Σ (header key + header value) bytes: the headers' share of the record size.
    headers_payload_bytes: u64,
}

impl<'g> RecordView<'g> {
    /// Decode a record from its encoding and metadata.
    fn decode(timestamp_ms: i64, bytes: &'g [u8], key_len: usize, flags: u32) -> RecordView<'g> {
        let (key, rest) = if flags & META_KEY != 0 {
            let (key, rest) = bytes.split_at(key_len);
            (Some(key), rest)
        } else {
            (None, bytes)
        };
        let (header_count, headers_block, headers_payload_bytes, rest) =
            if flags & META_HEADERS != 0 {
                let (count, block) = decode_varint(rest);
                let mut cursor = block;
                let mut payload = 0u64;
                for _ in 0..count {
                    let (key_len, tail) = decode_varint(cursor);
                    let (value_code, tail) = decode_varint(tail);
                    let pair = key_len + value_code.saturating_sub(1);
                    payload += pair;
                    cursor = &tail[pair as usize..];
                }
                let block_len = block.len() - cursor.len();
                (count as u32, &block[..block_len], payload, cursor)
            } else {
                (0, &rest[..0], 0, rest)
            };
        let value = (flags & META_VALUE != 0).then_some(rest);
        RecordView {
            timestamp_ms,
            key,
            value,
            headers_block,
            header_count,
            headers_payload_bytes,
        }
    }

    /// The headers, decoded.
    pub fn headers(&self) -> Vec<Header> {
        let mut headers = Vec::with_capacity(self.header_count as usize);
        let mut rest = self.headers_block;
        for _ in 0..self.header_count {
            let (key_len, tail) = decode_varint(rest);
            let (value_code, tail) = decode_varint(tail);
            let key_len = key_len as usize;
            let key = String::from_utf8_lossy(&tail[..key_len]).into_owned();
            rest = &tail[key_len..];
            let value = if value_code == 0 {
                None
            } else {
                let (value, tail) = rest.split_at(value_code as usize - 1);
                rest = tail;
                Some(Bytes(value.to_vec()))
            };
            headers.push(Header { key, value });
        }
        headers
    }

    /// The record's size by the model's one formula (`record_size_bytes`).
    pub fn size_bytes(&self) -> u64 {
        RECORD_OVERHEAD_BYTES
            + self.key.map_or(0, |k| k.len() as u64)
            + self.value.map_or(0, |v| v.len() as u64)
            + self.headers_payload_bytes
    }

    /// An owned copy, as fetch and poll return it.
    pub fn to_stored(&self, offset: i64) -> StoredRecord {
        StoredRecord {
            offset,
            timestamp_ms: self.timestamp_ms,
            key: self.key.map(|k| Bytes(k.to_vec())),
            value: self.value.map(|v| Bytes(v.to_vec())),
            headers: self.headers(),
        }
    }
}

/// The parts of a model [`Record`], with its timestamp resolved by the caller.
pub fn record_parts(record: &Record, timestamp_ms: i64) -> RecordParts<'_> {
    RecordParts {
        key: record.key.as_ref().map(Bytes::as_slice),
        value: record.value.as_ref().map(Bytes::as_slice),
        headers: &record.headers,
        timestamp_ms,
    }
}

/// Alignment of an arena's first byte: a cache line. Values are laid back to back from it, so
/// a run of values whose size is a multiple of 64 bytes (the 1 KiB values of the fan-out
/// benchmark) starts every value on a line of its own, and filling one touches 16 lines, not
/// 17. (Left to `alloc`, an arena of a few MiB starts 16 bytes into a page, past the
/// allocator's header, and the 1 KiB producer filled values measurably slower:
/// `docs/PERFORMANCE.md`.)
const ARENA_ALIGN_BYTES: usize = 64;

/// Arenas of at least this many bytes start on a boundary of it and ask the kernel to back
/// them with transparent huge pages (`madvise(MADV_HUGEPAGE)` before their first touch): an
/// x86-64 huge page. Why: a partition of 1 KiB values cycles three arenas of about 4 MiB
/// (the one filled, the one read, the one back in the pool), 12 MiB in about 3100 pages of
/// 4 KiB, past the 2048 entries of a Zen 3 core's second-level TLB, where a ring of the same
/// window fits; in huge pages it is six entries (`docs/performance-history.md`, stop 27). Smaller
/// arenas (every segment of small values) keep the allocator's pages: a huge page would
/// only be partly used. On a host whose kernel grants none (THP `never`), the advice changes
/// nothing.
const ARENA_HUGE_PAGE_BYTES: usize = 2 << 20;

/// A segment's byte arena: one allocation, written through raw pointers in disjoint reserved
/// ranges, read only below the high watermark. Starts on a cache line ([`ARENA_ALIGN_BYTES`]),
/// or on a huge page ([`ARENA_HUGE_PAGE_BYTES`]) when it spans one.
struct Arena {
    base: NonNull<u8>,
    capacity_bytes: usize,
}

impl Arena {
    fn layout(capacity_bytes: usize) -> Layout {
        let align_bytes = if capacity_bytes >= ARENA_HUGE_PAGE_BYTES {
            ARENA_HUGE_PAGE_BYTES
        } else {
            ARENA_ALIGN_BYTES
        };
        Layout::from_size_align(capacity_bytes, align_bytes).expect("arena layout")
    }

    fn new(capacity_bytes: usize) -> Arena {
        debug_assert!(capacity_bytes > 0 && capacity_bytes <= u32::MAX as usize);
        let layout = Arena::layout(capacity_bytes);
        // Zeroed, so every arena byte is initialised from the start: the zero-copy produce
        // path lends a reserved range as `&mut [u8]` (`Segment::lay_in_place`). Fresh
        // pages come zeroed from the kernel anyway; recycled segments skip this.
        let base = if layout.align() == ARENA_HUGE_PAGE_BYTES {
            // Advised before it is zeroed: the advice applies to pages not yet touched, and
            // zeroing touches them all (the allocator's `alloc_zeroed` would zero first).
            // SAFETY: the layout has a non-zero size (asserted above).
            let base = unsafe { alloc(layout) };
            if !base.is_null() {
                advise_huge_pages(base, capacity_bytes);
                // SAFETY: `base` is a live allocation of `capacity_bytes` bytes.
                unsafe { base.write_bytes(0, capacity_bytes) };
            }
            base
        } else {
            // SAFETY: the layout has a non-zero size (asserted above).
            unsafe { alloc_zeroed(layout) }
        };
        let base = NonNull::new(base).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Arena {
            base,
            capacity_bytes,
        }
    }
}

/// Ask the kernel to back `len` bytes from `base` (a huge page boundary) with transparent huge
/// pages. Advice only: whatever the kernel answers, the memory is the same.
#[cfg(all(target_os = "linux", not(miri)))]
fn advise_huge_pages(base: *mut u8, len: usize) {
    // SAFETY: `base..base + len` is one live allocation of this process, starting on a page
    // boundary; MADV_HUGEPAGE changes how future faults in it are backed, never its contents.
    unsafe { libc::madvise(base.cast(), len, libc::MADV_HUGEPAGE) };
}

/// Elsewhere (and under miri, which runs no system calls) there is no advice to give.
#[cfg(not(all(target_os = "linux", not(miri))))]
fn advise_huge_pages(_base: *mut u8, _len: usize) {}

impl Drop for Arena {
    fn drop(&mut self) {
        let layout = Arena::layout(self.capacity_bytes);
        // SAFETY: `base` came from `alloc` with this same layout and is freed once, here.
        unsafe { dealloc(self.base.as_ptr(), layout) };
    }
}

/// One segment. Owned by the partition's segment directory while linked; by the recycling
/// pool or nobody otherwise.
pub struct Segment {
    /// Offset of slot 0. Set while the segment is exclusively owned, before it is linked.
    base_offset: i64,
    /// The first word of each of [`SEGMENT_RECORDS`] slots ([`Slot::timestamp_tagged`]: a
    /// timestamp, or a held value): slot `i` is stored by whoever completes the batch holding
    /// offset `base_offset + i` (each completer stores the same words; atomics, because a late
    /// completer may store while a reader reads), and read only after the high watermark
    /// covers it. An array of its own, beside [`Segment::locations`], so that held values lie
    /// 8 to a cache line and a reader of a held run loads nothing else (see [`HeldRun`]).
    timestamps_tagged: Box<[AtomicI64; SLOTS]>,
    /// The second word of each slot ([`Slot::location`]), stored and read as the first.
    locations: Box<[AtomicU64; SLOTS]>,
    /// The exclusive producer's latest run of held values in this segment ([`HeldRun`]
    /// packed; 0 for none). Stored by the lease holder alone, when a run opens and when it
    /// closes, before the high watermark that publishes the run's slots; read by every
    /// reader of values, so it sits with the read-mostly fields, not with the cursor below.
    held_run: AtomicU64,
    arena: Arena,
    /// Next free arena byte. May run past the capacity: a writer that finds its range beyond
    /// the end stores its records out of line instead.
    ///
    /// On a cache line of its own: appenders bump it while readers read the fields beside it
    /// (slot array and arena addresses) for every record; sharing their line, each bump
    /// stalled a single-record reader (perf of `fan_out/8B/single`: a quarter of an append
    /// on its `fetch_add`).
    arena_cursor_bytes: CachePadded<AtomicU64>,
    /// Whether any slot holds an out-of-line record (so freeing can skip the slot scan).
    has_out_of_line: AtomicBool,
}

/// [`SEGMENT_RECORDS`] as an index: the length of each slot array, whose fixed size lets a
/// slot index masked from an offset go unchecked.
const SLOTS: usize = SEGMENT_RECORDS as usize;

/// One word per slot, heap-allocated (a `Box<[_; SLOTS]>` made on the stack would copy 32 KiB).
fn slot_words<W>(word: impl Fn() -> W) -> Box<[W; SLOTS]> {
    let words: Box<[W]> = (0..SLOTS).map(|_| word()).collect();
    words
        .try_into()
        .unwrap_or_else(|_| unreachable!("SLOTS words were made"))
}

/// Consecutive members of one segment's held run of `len`-byte values: the value word of the
/// first and how many follow. What a reader keeps of a segment it reads held values from, so
/// that reading the next one is the load of a word (`engine.rs`, HELD-CURSOR); [`HeldValues::NONE`]
/// when it keeps none.
#[derive(Clone, Copy, Debug)]
pub struct HeldValues {
    first: NonNull<AtomicI64>,
    count: usize,
    len: usize,
}

impl HeldValues {
    /// No values.
    pub const NONE: HeldValues = HeldValues {
        first: NonNull::dangling(),
        count: 0,
        len: 0,
    };

    /// How many values.
    #[inline(always)]
    pub fn count(&self) -> usize {
        self.count
    }

    /// `each(member, value)` for `members` of these, in order (their values live for `'a`).
    ///
    /// # Safety
    /// `members` ends at or below [`HeldValues::count`], and the segment these were taken
    /// from ([`Segment::held_values`]) is neither reclaimed nor recycled for `'a`, so that each
    /// member's word still holds the value HELD-RUN says it held: a held value's word is
    /// stored once, before the high watermark that published it, and not again until the
    /// segment is recycled.
    #[inline(always)]
    pub unsafe fn for_each<'a>(
        &self,
        members: std::ops::Range<usize>,
        mut each: impl FnMut(usize, &'a [u8]),
    ) {
        debug_assert!(members.end <= self.count);
        for member in members {
            // SAFETY: `member` is below `count`, so its word is in the segment's word array,
            // which is allocated for `'a` (the caller's contract).
            let word = unsafe { self.first.add(member).as_ref() };
            let bytes = crate::sync::word_bytes(word);
            // SAFETY: the word's first `len` bytes are the value, in native order as
            // `Slot::held_value` stored them, and no store races these reads (the caller's
            // contract).
            each(member, unsafe {
                std::slice::from_raw_parts(bytes, self.len)
            });
        }
    }
}

/// A run of values held in their slots (see the module docs), all of one length and one
/// timestamp, appended one after another by the exclusive producer (`log/lease.rs`): slots
/// `first..end` of a segment, `end` being the segment's end while the run is open.
///
/// Invariant (HELD-RUN): every published slot in `first..end` holds a value of `len` bytes,
/// and its location word is the head's (slot `first`): the same length and timestamp. The
/// holder opens a run (stores the head's location word, then the run, open) before it
/// stores the run's first value; a member stores its value word alone. It closes the run
/// (stores each member's location word, a copy of the head's, then the run's end) before
/// it stores anything else in the segment; a run left open ends with its segment, which
/// the holder leaves only once it is full. All of these stores come before the high
/// watermark's `Release` store that publishes the slots they describe, so a reader that
/// loaded a high watermark with `Acquire` and then the run finds, at worst, a later run,
/// which says the same of the slots it covers; and one that finds a run closed (`Acquire`,
/// against the close's `Release`) finds its members' own location words stored.
///
/// Why: a reader close behind its producer is bound by the cache lines the two trade
/// (`docs/performance-history.md`, the earlier host's single-record fan-out). In a held run the producer stores 8 bytes
/// a record, its value word, and a reader of values loads only those, 8 to a line; a held
/// value with its own location word was a 16-byte cell, stored and loaded whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldRun {
    /// Its first slot.
    pub first: usize,
    /// One past its last slot: [`SEGMENT_RECORDS`] while open.
    pub end: usize,
    /// Its values' length in bytes, at most [`HELD_VALUE_BYTES_MAX`].
    pub len: usize,
}

impl HeldRun {
    /// Whether the run is open: it ends at its segment's end until it is closed.
    pub fn is_open(&self) -> bool {
        self.end == SLOTS
    }

    /// Packed: `first` (16 bits) | `end` (16) | `len + 1` (8), so that 0 is no run.
    fn pack(first: usize, end: usize, len: usize) -> u64 {
        debug_assert!(first <= end && end <= SLOTS && len <= HELD_VALUE_BYTES_MAX);
        first as u64 | (end as u64) << 16 | (len as u64 + 1) << 32
    }

    #[inline(always)]
    fn unpack(packed: u64) -> Option<HeldRun> {
        let len = (packed >> 32) as u8;
        (len != 0).then(|| HeldRun {
            first: packed as u16 as usize,
            end: (packed >> 16) as u16 as usize,
            len: usize::from(len - 1),
        })
    }
}

// SAFETY: a segment's raw arena pointer is owned by it; all cross-thread access to slots and
// arena bytes follows the reserve → write → publish protocol of `log.rs`, which orders every
// write before every read of the same bytes.
unsafe impl Send for Segment {}
// SAFETY: as above; shared access only reads published slots or writes reserved ones.
unsafe impl Sync for Segment {}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("base_offset", &self.base_offset)
            .field("arena_capacity_bytes", &self.arena.capacity_bytes)
            .finish()
    }
}

impl Segment {
    /// A fresh segment starting at `base_offset` with an arena of `arena_bytes`.
    pub fn new(base_offset: i64, arena_bytes: usize) -> Segment {
        debug_assert_eq!(base_offset as u64 % SEGMENT_RECORDS, 0);
        Segment {
            base_offset,
            timestamps_tagged: slot_words(|| AtomicI64::new(0)),
            locations: slot_words(|| AtomicU64::new(0)),
            held_run: AtomicU64::new(0),
            arena: Arena::new(arena_bytes.clamp(ARENA_BYTES_MIN, ARENA_BYTES_MAX)),
            arena_cursor_bytes: CachePadded::new(AtomicU64::new(0)),
            has_out_of_line: AtomicBool::new(false),
        }
    }

    /// Offset of slot 0.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Bytes of arena this segment has.
    pub fn arena_capacity_bytes(&self) -> usize {
        self.arena.capacity_bytes
    }

    /// Arena bytes asked for so far, including reservations that did not fit (the next
    /// segment's size estimate).
    pub fn arena_demand_bytes(&self) -> usize {
        self.arena_cursor_bytes.load(Ordering::Relaxed) as usize
    }

    /// Give the segment a fresh arena of `arena_bytes` (clamped like [`Segment::new`]'s).
    /// Takes `&mut self`: the caller owns it exclusively, unlinked.
    pub fn replace_arena(&mut self, arena_bytes: usize) {
        self.arena = Arena::new(arena_bytes.clamp(ARENA_BYTES_MIN, ARENA_BYTES_MAX));
        self.arena_cursor_bytes = CachePadded::new(AtomicU64::new(0));
    }

    /// Make a freed segment ready to be linked again at `base_offset`, freeing the out-of-line
    /// records of its old life. Takes `&mut self`: the caller owns it exclusively.
    ///
    /// # Safety
    /// `written_slots` must be the number of slots (from 0) written in the old life and not yet
    /// released, so each out-of-line block is freed exactly once.
    pub unsafe fn reset(&mut self, written_slots: usize, base_offset: i64) {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.release_out_of_line(written_slots) };
        self.base_offset = base_offset;
        self.held_run = AtomicU64::new(0);
        self.arena_cursor_bytes = CachePadded::new(AtomicU64::new(0));
    }

    /// Free the out-of-line blocks in slots `0..written_slots`.
    ///
    /// # Safety
    /// Exclusive access (`&mut self`), and `written_slots` as in [`Segment::reset`].
    pub unsafe fn release_out_of_line(&mut self, written_slots: usize) {
        debug_assert!(written_slots <= SEGMENT_RECORDS as usize);
        if !self.has_out_of_line.load(Ordering::Relaxed) {
            return;
        }
        for index in 0..written_slots {
            // SAFETY: exclusive access; slots below `written_slots` were fully written.
            let slot = unsafe { self.slot(index) };
            if slot.is_out_of_line() {
                // SAFETY: a negative tag marks an out-of-line block allocated by
                // `Slot::out_of_line`, freed only here, once (the caller's contract).
                unsafe { free_out_of_line(slot.location as *mut u8) };
            }
        }
        self.has_out_of_line = AtomicBool::new(false);
    }

    /// Reserve `bytes` of arena. Returns the start, or `None` if they do not fit (the caller
    /// then stores its records out of line).
    pub fn reserve_arena(&self, bytes: usize) -> Option<u32> {
        if bytes == 0 {
            return Some(0);
        }
        let start = self
            .arena_cursor_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        let end = start + bytes as u64;
        (end <= self.arena.capacity_bytes as u64).then_some(start as u32)
    }

    /// Reserve at least `bytes_min` and at most `bytes_max` bytes of arena, as many as are
    /// left up to `bytes_max`: their start and count, or `None` if `bytes_min` do not fit.
    /// (The exclusive producer takes its arena a chunk at a time, `log/lease.rs`.)
    pub fn reserve_arena_chunk(&self, bytes_min: usize, bytes_max: usize) -> Option<(u32, usize)> {
        let cursor = self.arena_cursor_bytes.load(Ordering::Relaxed);
        let left = (self.arena.capacity_bytes as u64).saturating_sub(cursor) as usize;
        let bytes = bytes_max.min(left).max(bytes_min);
        // A reservation made meanwhile by a shared appender (one that has not yet seen the
        // lease) can make this one fail: the caller then lays the usual way.
        self.reserve_arena(bytes).map(|start| (start, bytes))
    }

    /// Lay a keyless, headerless, non-null value of at most [`INLINE_RECORD_BYTES_MAX`] bytes
    /// at arena position `arena_start` and return its slot word (the fan-out fast path; the
    /// same encoding [`Segment::lay_record`] produces for such a record). The word reaches a
    /// slot only when the batch is completed (see `log.rs`).
    ///
    /// # Safety
    /// The arena range `arena_start..arena_start + value.len()` is the caller's own
    /// reservation, read by nobody before the batch holding it is published.
    #[inline(always)]
    pub unsafe fn lay_plain_value(
        &self,
        arena_start: u32,
        timestamp_ms: i64,
        value: &[u8],
    ) -> Slot {
        debug_assert!(timestamp_ms >= 0 && value.len() <= INLINE_RECORD_BYTES_MAX);
        debug_assert!(arena_start as usize + value.len() <= self.arena.capacity_bytes);
        // SAFETY: the arena range is reserved by the caller and within the allocation
        // (asserted above).
        let dst = unsafe { self.arena.base.as_ptr().add(arena_start as usize) };
        if let Ok(word) = <[u8; 8]>::try_from(value) {
            // 8-byte values (the fan-out benchmark's) as one unaligned store, not a memcpy
            // call.
            // SAFETY: 8 reserved bytes at `dst`.
            unsafe { dst.cast::<[u8; 8]>().write_unaligned(word) };
        } else {
            // SAFETY: `value.len()` reserved bytes at `dst`.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), dst, value.len()) };
        }
        Slot::plain(u64::from(arena_start), value.len(), timestamp_ms)
    }

    /// Lend the arena range `arena_start..arena_start + bytes` to `fill`: the zero-copy
    /// produce path writes fixed-size values in place, their slot words being
    /// [`Slot::plain`] at consecutive starts.
    ///
    /// # Safety
    /// As [`Segment::lay_plain_value`], for the range given.
    #[inline]
    pub unsafe fn lay_in_place(
        &self,
        arena_start: u32,
        bytes: usize,
        fill: impl FnOnce(&mut [u8]),
    ) {
        debug_assert!(arena_start as usize + bytes <= self.arena.capacity_bytes);
        if bytes == 0 {
            return;
        }
        // SAFETY: the range is reserved by the caller (no one else writes or reads it until
        // publication) and within the allocation (asserted above); arena bytes are always
        // initialised (zeroed at allocation, see `Arena::new`).
        let out = unsafe {
            std::slice::from_raw_parts_mut(
                self.arena.base.as_ptr().add(arena_start as usize),
                bytes,
            )
        };
        fill(out);
    }

    /// Lay one record (of encoded length `len`) and return its slot word: its bytes at arena
    /// position `arena_start` when `Some` and small enough (inline), else in a block of its own
    /// (out of line; [`Slot::free_unpublished`] frees it if the batch is abandoned).
    ///
    /// # Safety
    /// When `Some`, the arena range `arena_start..arena_start + len` is as in
    /// [`Segment::lay_plain_value`].
    #[inline]
    pub unsafe fn lay_record(
        &self,
        arena_start: Option<u32>,
        record: &RecordParts,
        len: usize,
    ) -> Slot {
        debug_assert!(record.timestamp_ms >= 0);
        debug_assert_eq!(len, record.encoded_len());
        match arena_start {
            Some(start) if len <= INLINE_RECORD_BYTES_MAX => {
                debug_assert!(start as usize + len <= self.arena.capacity_bytes);
                // SAFETY: the arena range is reserved by the caller and within the allocation
                // (asserted above).
                unsafe { record.encode_to(self.arena.base.as_ptr().add(start as usize)) };
                let key_len = record.key.map_or(0, <[u8]>::len);
                let meta = key_len as u64 | u64::from(record.meta_flags()) << INLINE_KEY_LEN_BITS;
                Slot {
                    timestamp_tagged: record.timestamp_ms,
                    location: u64::from(start) | (len as u64) << 32 | meta << 48,
                }
            }
            _ => Slot::out_of_line(record, len),
        }
    }

    /// The encoded bytes a laid slot word names (a batch being laid again reads its own
    /// bytes back from where it first laid them).
    ///
    /// # Safety
    /// `slot` was laid in this segment (or out of line) and its bytes are not freed.
    pub unsafe fn laid_bytes(&self, slot: Slot) -> &[u8] {
        debug_assert!(
            held_value_len(slot.location).is_none(),
            "a held value is stored, never laid"
        );
        if slot.is_out_of_line() {
            let block = slot.location as *const u8;
            // SAFETY: an out-of-line word names a live block (the caller's contract).
            let (len, _) = unsafe { out_of_line_header(block) };
            // SAFETY: the block holds `len` written bytes after its header.
            unsafe { std::slice::from_raw_parts(block.add(OUT_OF_LINE_HEADER_BYTES), len) }
        } else {
            let start = slot.location as u32 as usize;
            let len = (slot.location >> 32) as u16 as usize;
            debug_assert!(start + len <= self.arena.capacity_bytes);
            // SAFETY: an inline word names `len` laid bytes at `start` of this arena.
            unsafe { std::slice::from_raw_parts(self.arena.base.as_ptr().add(start), len) }
        }
    }

    /// `len` arena bytes from `start`.
    ///
    /// # Safety
    /// The range was laid by the caller's batch (or is published) and is not being written.
    pub unsafe fn arena_bytes(&self, start: u32, len: usize) -> &[u8] {
        debug_assert!(start as usize + len <= self.arena.capacity_bytes);
        // SAFETY: inside the allocation (asserted above), initialised, not being written.
        unsafe { std::slice::from_raw_parts(self.arena.base.as_ptr().add(start as usize), len) }
    }

    /// Store a completed batch's slot word at `index` (Relaxed: the high watermark's Release
    /// CAS, after every store of the batch, is what publishes it). Every thread completing the
    /// batch stores the same word, so repeated and late stores are harmless (see `log.rs`).
    #[inline(always)]
    pub fn store_slot(&self, index: usize, slot: Slot) {
        self.timestamps_tagged[index].store(slot.timestamp_tagged, Ordering::Relaxed);
        self.locations[index].store(slot.location, Ordering::Relaxed);
    }

    /// Store a plain value of `value_bytes` bytes (`fill` writes them) held in slot `index`,
    /// a member of the open held run (HELD-RUN): its value word alone, the run's head holding
    /// the location word every member shares. The one-record append's whole store, no arena.
    /// Published by the high watermark, as [`Segment::store_slot`].
    #[inline(always)]
    pub fn store_held_value(&self, index: usize, value_bytes: usize, fill: impl FnOnce(&mut [u8])) {
        debug_assert!(
            self.held_run()
                .is_some_and(|run| run.first <= index && run.len == value_bytes),
            "HELD-RUN: a held value is stored in the open run"
        );
        let mut value = [0u8; HELD_VALUE_BYTES_MAX];
        fill(&mut value[..value_bytes]);
        self.timestamps_tagged[index].store(i64::from_ne_bytes(value), Ordering::Relaxed);
    }

    /// [`Segment::store_held_value`] for a batch: the values of slots `slot_first..slot_first +
    /// count`, members of the open held run (HELD-RUN), each its value word alone. `fill(first,
    /// out)` writes the values of the batch's records `first..` back to back into `out` (as
    /// [`crate::log::AppendBatch::fill_values`]), a chunk of them at a time through a buffer
    /// on the stack, whose words are then stored.
    #[inline(always)]
    pub fn store_held_values(
        &self,
        slot_first: usize,
        count: usize,
        value_bytes: usize,
        mut fill: impl FnMut(usize, &mut [u8]),
    ) {
        debug_assert!(
            self.held_run()
                .is_some_and(|run| run.first <= slot_first && run.len == value_bytes),
            "HELD-RUN: held values are stored in the open run"
        );
        /// Values per chunk: 512 bytes of buffer, a few lines of L1.
        const CHUNK_VALUES: usize = 64;
        let mut buffer = [0u8; CHUNK_VALUES * HELD_VALUE_BYTES_MAX];
        let words = &self.timestamps_tagged[slot_first..slot_first + count];
        for (chunk_number, chunk) in words.chunks(CHUNK_VALUES).enumerate() {
            let first = chunk_number * CHUNK_VALUES;
            if value_bytes == HELD_VALUE_BYTES_MAX {
                // A word each: values the compiler sees as arrays, stored without a copy loop.
                let out = &mut buffer[..chunk.len() * HELD_VALUE_BYTES_MAX];
                fill(first, out);
                let (values, _) = out.as_chunks::<HELD_VALUE_BYTES_MAX>();
                for (word, value) in chunk.iter().zip(values) {
                    word.store(i64::from_ne_bytes(*value), Ordering::Relaxed);
                }
            } else {
                let out = &mut buffer[..chunk.len() * value_bytes];
                fill(first, out);
                for (at, word) in chunk.iter().enumerate() {
                    let mut value = [0u8; HELD_VALUE_BYTES_MAX];
                    value[..value_bytes]
                        .copy_from_slice(&out[at * value_bytes..(at + 1) * value_bytes]);
                    word.store(i64::from_ne_bytes(value), Ordering::Relaxed);
                }
            }
        }
    }

    /// Open a run of held values of `len` bytes stamped `timestamp_ms` (below
    /// [`HELD_VALUE_TIMESTAMP_MS_END`]) at slot `first`, before any of its values is stored:
    /// the head's location word, then the run (HELD-RUN). The exclusive producer's alone, like
    /// the slots it describes.
    #[inline]
    pub fn open_held_run(&self, first: usize, len: usize, timestamp_ms: i64) {
        debug_assert!(
            self.held_run().is_none_or(|run| run.end <= first),
            "HELD-RUN: a run opens after the last one closed"
        );
        self.locations[first].store(held_location(len, timestamp_ms), Ordering::Relaxed);
        // Release, as the close's (see there).
        self.held_run
            .store(HeldRun::pack(first, SLOTS, len), Ordering::Release);
    }

    /// Close the open held run at slot `end`, before anything else is stored there: each
    /// member's location word (its head's), then the run's end (HELD-RUN). `end` may be the
    /// run's first slot (a run opened for a value whose `fill` panicked: no member).
    pub fn close_held_run(&self, end: usize) {
        let run = self
            .held_run()
            .expect("HELD-RUN: only an open run is closed");
        debug_assert!(run.is_open(), "HELD-RUN: only an open run is closed");
        debug_assert!(
            run.first <= end,
            "HELD-RUN: a run closes at or after its head"
        );
        let head = self.locations[run.first].load(Ordering::Relaxed);
        for location in self.locations.iter().take(end).skip(run.first + 1) {
            location.store(head, Ordering::Relaxed);
        }
        // Release: a reader that finds this run closed (or a later one) and so reads a
        // member's own location word finds it stored.
        self.held_run
            .store(HeldRun::pack(run.first, end, run.len), Ordering::Release);
    }

    /// The latest held run (HELD-RUN), if any.
    #[inline(always)]
    pub fn held_run(&self) -> Option<HeldRun> {
        // Acquire: pairs with the close's Release, for the members' location words. The
        // run's own stores were ordered before this load by the reader's Acquire load of the
        // high watermark, as the slots' were (see `HeldRun`).
        HeldRun::unpack(self.held_run.load(Ordering::Acquire))
    }

    /// Store the words of `count` fixed-size plain values laid back to back from
    /// `arena_start` (a [`crate::descriptor::PartWords::Fixed`] part) into slots from
    /// `slot_first`, as one run: the head's timestamp, then each location naming the head
    /// (see the module docs). Idempotent, like [`Segment::store_slot`].
    #[inline]
    pub fn store_fixed_run(
        &self,
        slot_first: usize,
        count: usize,
        arena_start: u32,
        value_bytes: usize,
        timestamp_ms: i64,
    ) {
        debug_assert!(timestamp_ms >= 0 && value_bytes <= INLINE_RECORD_BYTES_MAX);
        debug_assert!(
            slot_first < SEGMENT_RECORDS as usize && SEGMENT_RECORDS as u32 <= INLINE_KEY_LEN_MASK
        );
        self.timestamps_tagged[slot_first].store(timestamp_ms, Ordering::Relaxed);
        // A run of one is a plain value with its own timestamp; a longer run keeps its end in
        // its second slot's timestamp word, which no reader reads as a timestamp.
        let head = if count > 1 {
            self.timestamps_tagged[slot_first + 1]
                .store((slot_first + count) as i64, Ordering::Relaxed);
            slot_first as u32 + 1
        } else {
            0
        };
        let shape = (value_bytes as u64) << 32 | u64::from(PLAIN_META | head) << 48;
        let mut start = u64::from(arena_start);
        for location in &self.locations[slot_first..slot_first + count] {
            location.store(start | shape, Ordering::Relaxed);
            start += value_bytes as u64;
        }
    }

    /// Remember that some slot holds an out-of-line record (so freeing scans the slots).
    pub fn note_out_of_line(&self) {
        self.has_out_of_line.store(true, Ordering::Relaxed);
    }

    /// The slot at `index`.
    ///
    /// # Safety
    /// The slot must be published (below the high watermark as loaded with Acquire).
    #[inline]
    pub unsafe fn slot(&self, index: usize) -> Slot {
        // SAFETY: forwarded.
        let location = unsafe { self.location(index) };
        // A run's head is published with the run (it is its first slot).
        let timestamp_at = run_head(location).unwrap_or(index);
        Slot {
            timestamp_tagged: self.timestamps_tagged[timestamp_at].load(Ordering::Relaxed),
            location,
        }
    }

    /// The location word of the slot at `index`.
    ///
    /// # Safety
    /// As [`Segment::slot`].
    #[inline]
    unsafe fn location(&self, index: usize) -> u64 {
        // SAFETY: forwarded; the run is loaded after the caller's high watermark.
        unsafe { self.location_in(index, self.held_run()) }
    }

    /// [`Segment::location`] with the held run already loaded (once per read of many slots).
    ///
    /// # Safety
    /// As [`Segment::slot`], and `held_run` was loaded ([`Segment::held_run`]) after the
    /// caller's Acquire load of the high watermark.
    #[inline(always)]
    unsafe fn location_in(&self, index: usize, held_run: Option<HeldRun>) -> u64 {
        // A member of the held run shares its head's word, its own stored only when the run
        // closes (HELD-RUN).
        let at = match held_run {
            Some(run) if run.first < index && index < run.end => run.first,
            _ => index,
        };
        // Relaxed: the caller's Acquire load of the high watermark ordered the completing
        // stores before this load.
        self.locations[at].load(Ordering::Relaxed)
    }

    /// The `len` bytes of the value slot `index` holds (see the module docs).
    ///
    /// # Safety
    /// As [`Segment::slot`], and the slot holds a value of `len` bytes.
    #[inline(always)]
    unsafe fn held_value_bytes(&self, index: usize, len: usize) -> &[u8] {
        debug_assert!(len <= HELD_VALUE_BYTES_MAX);
        let word = crate::sync::word_bytes(&self.timestamps_tagged[index]);
        // SAFETY: the word's first `len` bytes are the value, in native order as
        // `Slot::held_value` stored them. A held value is stored once, by the exclusive
        // producer, before the high watermark published it, and its slot is not stored again
        // until the segment is recycled, which the caller's epoch guard rules out: no store
        // races these reads.
        unsafe { std::slice::from_raw_parts(word, len) }
    }

    /// The timestamp of the record in slot `index`.
    ///
    /// # Safety
    /// As [`Segment::slot`].
    #[inline]
    pub unsafe fn timestamp_ms(&self, index: usize) -> i64 {
        // SAFETY: forwarded.
        let slot = unsafe { self.slot(index) };
        if held_value_len(slot.location).is_some() {
            held_timestamp_ms(slot.location)
        } else if slot.is_out_of_line() {
            !slot.timestamp_tagged
        } else {
            slot.timestamp_tagged
        }
    }

    /// The record in slot `index`.
    ///
    /// # Safety
    /// As [`Segment::slot`]; the view must not outlive the epoch guard that keeps the segment
    /// from being freed or recycled.
    #[inline]
    pub unsafe fn record<'g>(&'g self, index: usize) -> RecordView<'g> {
        // SAFETY: forwarded.
        let slot = unsafe { self.slot(index) };
        if let Some(len) = held_value_len(slot.location) {
            // SAFETY: forwarded; the location word says the slot holds `len` bytes.
            let value = unsafe { self.held_value_bytes(index, len) };
            RecordView::decode(held_timestamp_ms(slot.location), value, 0, META_VALUE)
        } else if slot.timestamp_tagged >= 0 {
            let start = slot.location as u32 as usize;
            let len = (slot.location >> 32) as u16 as usize;
            let meta = (slot.location >> 48) as u32;
            debug_assert!(start + len <= self.arena.capacity_bytes);
            // SAFETY: a published inline slot names `len` written bytes at `start` in the arena.
            let bytes =
                unsafe { std::slice::from_raw_parts(self.arena.base.as_ptr().add(start), len) };
            let key_len = (meta & ((1 << INLINE_KEY_LEN_BITS) - 1)) as usize;
            RecordView::decode(
                slot.timestamp_tagged,
                bytes,
                key_len,
                meta >> INLINE_KEY_LEN_BITS,
            )
        } else {
            let block = slot.location as *const u8;
            // SAFETY: a published out-of-line slot names a live block with its 8-byte header.
            let (len, meta) = unsafe { out_of_line_header(block) };
            // SAFETY: the block holds `len` written bytes after its header.
            let bytes =
                unsafe { std::slice::from_raw_parts(block.add(OUT_OF_LINE_HEADER_BYTES), len) };
            let key_len = (meta & ((1 << OUT_OF_LINE_KEY_LEN_BITS) - 1)) as usize;
            RecordView::decode(
                !slot.timestamp_tagged,
                bytes,
                key_len,
                meta >> OUT_OF_LINE_KEY_LEN_BITS,
            )
        }
    }

    /// `each(slot, value)` for every slot in `slots`, each a member of a held run of
    /// `len`-byte values ([`HeldRun`]), read from its value word alone.
    ///
    /// # Safety
    /// As [`Segment::record`], for every slot in `slots`, and each holds a value of `len`
    /// bytes (HELD-RUN, or a reader's cursor that loaded the run, HELD-CURSOR).
    #[inline(always)]
    pub unsafe fn for_each_held_value<'g>(
        &'g self,
        slots: std::ops::Range<usize>,
        len: usize,
        mut each: impl FnMut(usize, Option<&'g [u8]>),
    ) {
        let first = slots.start;
        // SAFETY: forwarded; the values live as long as `self` is borrowed.
        unsafe {
            let values = self.held_values(slots, len);
            values.for_each(0..values.count(), |member, value| {
                each(first + member, Some(value))
            })
        };
    }

    /// Slots `slots`, members of a held run of `len`-byte values, as a reader's cursor keeps
    /// them: read later by their value words alone, without the segment.
    ///
    /// # Safety
    /// As [`Segment::for_each_held_value`] (the slots must hold their values when they are
    /// read, not only now: see [`HeldValues::for_each`]).
    #[inline]
    pub unsafe fn held_values(&self, slots: std::ops::Range<usize>, len: usize) -> HeldValues {
        debug_assert!(slots.start <= slots.end && slots.end <= SLOTS);
        debug_assert!(len <= HELD_VALUE_BYTES_MAX);
        // From the whole array, not its first member's word: the reads go on to the next ones.
        let words = NonNull::from(&*self.timestamps_tagged).cast::<AtomicI64>();
        HeldValues {
            // SAFETY: `slots.start` is at most the array's length: in it, or one past its end.
            first: unsafe { words.add(slots.start) },
            count: slots.len(),
            len,
        }
    }

    /// Call `each(slot, value)` for every slot in `slots`, in order: the values of plain
    /// records (inline, keyless, headerless) without decoding anything else, other records'
    /// through [`Segment::record`]. A fixed run's values follow one another in the arena, so
    /// a run is read from its first location word and its end (in its second slot's
    /// timestamp word), not one location word per record: a reader of values is bound by the
    /// bytes it pulls, and this halves them for 8-byte values. Slots inside the held run
    /// ([`HeldRun`]) are read from their value words alone, for the same reason.
    ///
    /// # Safety
    /// As [`Segment::record`], for every slot in `slots`.
    #[inline]
    pub unsafe fn for_each_value<'g>(
        &'g self,
        slots: std::ops::Range<usize>,
        mut each: impl FnMut(usize, Option<&'g [u8]>),
    ) {
        let held_run = self.held_run();
        if let Some(run) = held_run {
            if run.first <= slots.start && slots.end <= run.end {
                // SAFETY: forwarded; HELD-RUN: the published slots of the run hold a value of
                // `run.len` bytes.
                unsafe { self.for_each_held_value(slots, run.len, each) };
                return;
            }
        }
        let mut slot = slots.start;
        while slot < slots.end {
            // SAFETY: forwarded; `held_run` was loaded above, after the caller's high
            // watermark, and says the same of every slot it covers (HELD-RUN).
            let location = unsafe { self.location_in(slot, held_run) };
            if let Some(len) = held_value_len(location) {
                // SAFETY: forwarded; the location word says the slot holds `len` bytes.
                each(slot, Some(unsafe { self.held_value_bytes(slot, len) }));
                slot += 1;
                continue;
            }
            if !is_plain(location) {
                // SAFETY: forwarded.
                each(slot, unsafe { self.record(slot) }.value);
                slot += 1;
                continue;
            }
            let len = (location >> 32) as u16 as usize;
            let start = location as u32 as usize;
            let run_end = match run_head(location) {
                // The run's second slot holds its end (a run has at least two members).
                Some(head) => self.timestamps_tagged[head + 1].load(Ordering::Relaxed) as usize,
                None => slot + 1,
            };
            let until = run_end.min(slots.end);
            debug_assert!(
                until > slot && start + (until - slot) * len <= self.arena.capacity_bytes
            );
            // One value after another by a running start, not `chunks_exact`: its length is a
            // division, which a consumer fetching one record at a time pays per record.
            let mut value_start = start;
            for index in slot..until {
                // SAFETY: a published plain slot names `len` laid bytes at `start`, and a
                // run's values lie back to back from there up to its end (one arena
                // reservation, `store_fixed_run`), so this value is laid and in the arena.
                let value = unsafe {
                    std::slice::from_raw_parts(self.arena.base.as_ptr().add(value_start), len)
                };
                each(index, Some(value));
                value_start += len;
            }
            slot = until;
        }
    }
}

fn out_of_line_layout(len: usize) -> Layout {
    Layout::from_size_align(OUT_OF_LINE_HEADER_BYTES + len, 8).expect("record layout")
}

/// Allocate an out-of-line block for a record of `len` encoded bytes, header filled in.
fn alloc_out_of_line(len: usize, key_len: usize, flags: u32) -> *mut u8 {
    debug_assert!(len <= u32::MAX as usize && key_len < 1 << OUT_OF_LINE_KEY_LEN_BITS);
    let layout = out_of_line_layout(len);
    // SAFETY: the layout has at least the 8-byte header, so a non-zero size.
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // `Segment::for_each_value` tells inline from out of line by the location word alone.
    assert!(
        !is_plain(block as u64),
        "a user-space address with bit 62 set"
    );
    let meta = key_len as u32 | flags << OUT_OF_LINE_KEY_LEN_BITS;
    // SAFETY: the block is 8-aligned and has 8 header bytes.
    unsafe {
        block.cast::<u32>().write(len as u32);
        block.cast::<u32>().add(1).write(meta);
    }
    block
}

/// The header of an out-of-line block: `(len, meta32)`.
///
/// # Safety
/// `block` must be a live block from [`alloc_out_of_line`].
unsafe fn out_of_line_header(block: *const u8) -> (usize, u32) {
    // SAFETY: the caller guarantees a live, 8-aligned block with its header written.
    unsafe {
        (
            block.cast::<u32>().read() as usize,
            block.cast::<u32>().add(1).read(),
        )
    }
}

/// Free an out-of-line block.
///
/// # Safety
/// `block` must be a live block from [`alloc_out_of_line`], freed only this once.
unsafe fn free_out_of_line(block: *mut u8) {
    // SAFETY: the caller guarantees a live block.
    let (len, _) = unsafe { out_of_line_header(block) };
    // SAFETY: allocated with this layout by `alloc_out_of_line`.
    unsafe { dealloc(block, out_of_line_layout(len)) };
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Goal: an arena spanning a huge page starts on one, so that the kernel may back it with
    /// huge pages, and reads zero, as the zero-copy path's `&mut [u8]` needs; a smaller arena
    /// keeps its cache-line start. Method: arenas the size of the 1 KiB fan-out's (4 MiB and
    /// 1/32), each checked, then filled with 0xff and dropped before the next, then a small
    /// one. (With the zeroing taken out this still passes here: glibc maps each of these
    /// afresh, and fresh pages are zero. The zeroing is for an allocator that reuses.)
    #[test]
    #[cfg_attr(
        miri,
        ignore = "reads 4 MiB byte by byte; miri's arenas never reach 2 MiB"
    )]
    fn arenas_of_a_huge_page_start_on_one_and_read_zero() {
        let capacity_bytes = (4 << 20) + (4 << 20) / 32;
        for _ in 0..4 {
            let arena = Arena::new(capacity_bytes);
            assert_eq!(arena.base.as_ptr() as usize % ARENA_HUGE_PAGE_BYTES, 0);
            // SAFETY: the arena's bytes, initialised (zeroed) by `Arena::new`.
            let bytes = unsafe { std::slice::from_raw_parts(arena.base.as_ptr(), capacity_bytes) };
            assert!(
                bytes.iter().all(|&byte| byte == 0),
                "a new arena reads zero"
            );
            // SAFETY: the arena's own bytes, no segment over them.
            unsafe { arena.base.as_ptr().write_bytes(0xff, capacity_bytes) };
        }
        let small = Arena::new(ARENA_HUGE_PAGE_BYTES - 64);
        assert_eq!(small.base.as_ptr() as usize % ARENA_ALIGN_BYTES, 0);
    }

    /// Goal: every record shape survives encode → slot → decode, inline and out of line.
    #[test]
    fn records_round_trip_inline_and_out_of_line() {
        let segment = Segment::new(0, ARENA_BYTES_MIN);
        let big = vec![7u8; INLINE_RECORD_BYTES_MAX + 1];
        let records = [
            Record::value("v"),
            Record::keyed("k", "value"),
            Record {
                key: None,
                value: None,
                headers: vec![
                    Header {
                        key: "h1".into(),
                        value: Some("x".into()),
                    },
                    Header {
                        key: "h2".into(),
                        value: None,
                    },
                    Header {
                        key: "long".repeat(40),
                        value: Some(vec![3u8; 300].into()),
                    },
                ],
                timestamp_ms: Some(5),
            },
            Record::keyed(big.clone(), big.clone()),
            Record::keyed(Vec::<u8>::new(), Vec::<u8>::new()),
        ];
        for (index, record) in records.iter().enumerate() {
            let parts = record_parts(record, 10 + index as i64);
            let start = segment.reserve_arena(parts.encoded_len());
            // SAFETY: the arena range is reserved by this test alone.
            let slot = unsafe { segment.lay_record(start, &parts, parts.encoded_len()) };
            if slot.is_out_of_line() {
                segment.note_out_of_line();
            }
            segment.store_slot(index, slot);
        }
        for (index, record) in records.iter().enumerate() {
            // SAFETY: written above, single-threaded.
            let view = unsafe { segment.record(index) };
            let stored = view.to_stored(index as i64);
            assert_eq!(stored.key, record.key);
            assert_eq!(stored.value, record.value);
            assert_eq!(stored.headers, record.headers);
            assert_eq!(stored.timestamp_ms, 10 + index as i64);
            assert_eq!(view.size_bytes(), record.size_bytes());
            // SAFETY: as above.
            assert_eq!(unsafe { segment.timestamp_ms(index) }, 10 + index as i64);
        }
        // The reader of values: the plain value from its location word alone, the keyed
        // record's through its full decode.
        let mut values = Vec::new();
        // SAFETY: as above.
        unsafe { segment.for_each_value(0..2, |slot, value| values.push((slot, value))) };
        assert_eq!(values, vec![(0, Some(&b"v"[..])), (1, Some(&b"value"[..]))]);
        let mut segment = segment;
        // SAFETY: 5 slots were written; exclusive access.
        unsafe { segment.release_out_of_line(records.len()) };
    }

    /// Goal: a fixed run's records take the run head's timestamp, whatever stale words the
    /// other slots' timestamps hold (a recycled segment's, here out-of-line tags), a reader
    /// walks the run to its end and not past it, and freeing never mistakes a stale tag for an
    /// out-of-line record. Method: fill every timestamp with an out-of-line tag, store a run of
    /// 3 at slot 0, read each record back and walk it, then free with the slot scan forced
    /// (reading the stale tags, it would free a plain location).
    #[test]
    fn a_fixed_run_shares_its_head_timestamp() {
        let mut segment = Segment::new(0, ARENA_BYTES_MIN);
        for word in segment.timestamps_tagged.iter() {
            word.store(!77, Ordering::Relaxed);
        }
        let start = segment.reserve_arena(24).unwrap();
        // SAFETY: the arena range is reserved by this test alone.
        unsafe {
            segment.lay_in_place(start, 24, |out| {
                out.copy_from_slice(&[[1u8; 8], [2; 8], [3; 8]].concat())
            })
        };
        segment.store_fixed_run(0, 3, start, 8, 42);
        for (index, byte) in [1u8, 2, 3].into_iter().enumerate() {
            // SAFETY: stored above, single-threaded.
            let (timestamp, view) = unsafe { (segment.timestamp_ms(index), segment.record(index)) };
            assert_eq!(timestamp, 42);
            assert_eq!(view.value, Some(&[byte; 8][..]));
            assert_eq!((view.key, view.timestamp_ms), (None, 42));
        }
        // A reader of values walks the run from any slot in it to the end asked for.
        for first in 0..3 {
            let mut walked = Vec::new();
            // SAFETY: as above.
            unsafe { segment.for_each_value(first..3, |slot, value| walked.push((slot, value))) };
            let walked: Vec<(usize, Vec<u8>)> = walked
                .into_iter()
                .map(|(slot, value)| (slot, value.expect("plain").to_vec()))
                .collect();
            let expected: Vec<(usize, Vec<u8>)> = (first..3)
                .map(|slot| (slot, vec![slot as u8 + 1; 8]))
                .collect();
            assert_eq!(walked, expected);
        }
        segment.note_out_of_line();
        // SAFETY: 3 slots written; exclusive access.
        unsafe { segment.release_out_of_line(3) };
    }

    /// A reader's cursor keeps a run's members as [`HeldValues`] and reads any stretch of them
    /// later: each member's own value, at its own index, the stretch's first included.
    /// Caught: the stretch's first word taken at half its slot (each stretch read from the
    /// wrong members).
    #[test]
    fn held_values_read_back_each_member_from_any_stretch() {
        let segment = Segment::new(0, ARENA_BYTES_MIN);
        let (first, end, len) = (5, 40, 6);
        segment.open_held_run(first, len, 1);
        for slot in first..end {
            segment.store_held_value(slot, len, |out| out.fill(slot as u8));
        }
        for (slots, members) in [(first..end, 0..end - first), (12..30, 3..18), (7..8, 0..1)] {
            // SAFETY: the slots hold `len`-byte values of the open run; single-threaded.
            let values = unsafe { segment.held_values(slots.clone(), len) };
            assert_eq!(values.count(), slots.len());
            let mut read = Vec::new();
            // SAFETY: within `count`, and the segment outlives the reads.
            unsafe {
                values.for_each(members.clone(), |member, value| {
                    read.push((member, value.to_vec()))
                })
            };
            let expected: Vec<_> = members
                .map(|member| (member, vec![(slots.start + member) as u8; len]))
                .collect();
            assert_eq!(read, expected, "slots {slots:?}");
        }
        assert_eq!(HeldValues::NONE.count(), 0);
    }

    /// Goal: a value held in its slot reads back every way (record, timestamp, reader of
    /// values, size), at every length up to a word and the latest timestamp the form carries,
    /// and freeing never takes its value word for an out-of-line tag, though it may be
    /// negative. Method: held values of 0 to 8 bytes of `0xff` (a negative word) beside an
    /// out-of-line record, read back, then freed with the slot scan on. Planted: the location
    /// check removed from `Slot::is_out_of_line` (freeing took the held words for block
    /// addresses: the test process died of SIGSEGV): caught.
    #[test]
    fn a_value_held_in_its_slot_reads_back_every_way() {
        let mut segment = Segment::new(0, ARENA_BYTES_MIN);
        let latest_ms = HELD_VALUE_TIMESTAMP_MS_END - 1;
        for len in 0..=HELD_VALUE_BYTES_MAX {
            // A run of one each: its own length and timestamp (HELD-RUN).
            segment.open_held_run(len, len, latest_ms - len as i64);
            segment.store_held_value(len, len, |out| out.fill(0xff));
            segment.close_held_run(len + 1);
        }
        let outside = HELD_VALUE_BYTES_MAX + 1;
        let big = Record::value(vec![7u8; INLINE_RECORD_BYTES_MAX + 1]);
        let parts = record_parts(&big, 3);
        // SAFETY: no arena range is used.
        let slot = unsafe { segment.lay_record(None, &parts, parts.encoded_len()) };
        assert!(slot.is_out_of_line());
        segment.note_out_of_line();
        segment.store_slot(outside, slot);
        for len in 0..=HELD_VALUE_BYTES_MAX {
            let value = vec![0xffu8; len];
            let timestamp_ms = latest_ms - len as i64;
            // SAFETY: stored above, single-threaded.
            let (timestamp, view) = unsafe { (segment.timestamp_ms(len), segment.record(len)) };
            assert_eq!(timestamp, timestamp_ms, "len {len}");
            let expected = StoredRecord {
                offset: len as i64,
                timestamp_ms,
                key: None,
                value: Some(value.into()),
                headers: Vec::new(),
            };
            assert_eq!(view.to_stored(len as i64), expected);
            assert_eq!(view.size_bytes(), expected.size_bytes());
        }
        let mut values = Vec::new();
        // SAFETY: as above.
        unsafe {
            segment.for_each_value(0..outside + 1, |slot, value| {
                values.push((slot, value.map(<[u8]>::len)))
            })
        };
        let mut expected: Vec<(usize, Option<usize>)> = (0..=HELD_VALUE_BYTES_MAX)
            .map(|len| (len, Some(len)))
            .collect();
        expected.push((outside, Some(INLINE_RECORD_BYTES_MAX + 1)));
        assert_eq!(values, expected);
        // SAFETY: every slot up to `outside` written; exclusive access.
        unsafe { segment.release_out_of_line(outside + 1) };
    }

    /// Goal: a full arena pushes records out of line instead of overflowing.
    #[test]
    fn full_arena_falls_back_to_out_of_line() {
        let mut segment = Segment::new(0, ARENA_BYTES_MIN);
        assert_eq!(segment.reserve_arena(ARENA_BYTES_MIN), Some(0));
        let record = Record::value("late");
        let parts = record_parts(&record, 1);
        let start = segment.reserve_arena(parts.encoded_len());
        assert_eq!(start, None);
        // SAFETY: no arena range is used.
        let slot = unsafe { segment.lay_record(start, &parts, parts.encoded_len()) };
        assert!(slot.is_out_of_line());
        segment.note_out_of_line();
        segment.store_slot(0, slot);
        // SAFETY: written above.
        assert_eq!(unsafe { segment.record(0) }.value, Some(&b"late"[..]));
        assert!(segment.has_out_of_line.load(Ordering::Relaxed));
        // SAFETY: one slot written.
        unsafe { segment.reset(1, SEGMENT_RECORDS as i64) };
        assert_eq!(segment.base_offset(), SEGMENT_RECORDS as i64);
        assert_eq!(segment.reserve_arena(4), Some(0));
    }

    /// Goal: values whose size is a multiple of a cache line each start on one
    /// (`ARENA_ALIGN_BYTES`), in arenas small enough for the allocator's heap and large
    /// enough for its own mapping (which, unaligned, starts 16 bytes into a page).
    #[test]
    fn line_sized_values_start_on_cache_lines() {
        for arena_bytes in [ARENA_BYTES_MIN, 64 * 1024, ARENA_BYTES_MAX] {
            let mut segment = Segment::new(0, arena_bytes);
            for replaced in [false, true] {
                if replaced {
                    segment.replace_arena(arena_bytes);
                }
                for _ in 0..3 {
                    let start = segment.reserve_arena(1024).expect("room for 1 KiB");
                    // SAFETY: the range was just reserved; nothing reads it.
                    unsafe {
                        segment.lay_in_place(start, 1024, |value| {
                            assert_eq!(value.as_ptr() as usize % 64, 0, "{arena_bytes}");
                        });
                    }
                }
            }
        }
    }
}
