//! [`LogBuffer`]: one stage's log in memory, a bounded tail addressed by absolute line number.
//!
//! Lines are packed into chunks of [`CHUNK_LINES`] lines (one `String` arena plus end offsets
//! and one flag byte per line), so a line costs its bytes plus 5 bytes, and dropping old lines
//! frees (and recycles) whole chunks. Chunk `k` always holds absolute lines
//! `k * CHUNK_LINES ..`, which makes lookup by number O(1).

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::term;

/// How many lines a stage's pane keeps in memory by default (the full log is on disk).
pub const DEFAULT_TAIL_LINES: usize = 100_000;

/// Longer lines are cut to this many bytes (at a character boundary, never inside an escape)
/// and a marker saying how much was cut follows, so that the tail stays bounded in bytes too,
/// even for binary or minified output. The log file keeps the whole line.
pub use crate::term::cut::{CUT_MARKER, MAX_LINE_BYTES};

const CHUNK_LINES: u64 = 1024;

const KIND_MASK: u8 = 0b0111;
const FLAG_ESC: u8 = 0b1000;
/// Every byte is printable ASCII (or part of an SGR escape): plain width == plain length.
const FLAG_SIMPLE: u8 = 0b1_0000;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// The stage's standard output.
    Stdout,
    /// The stage's standard error.
    Stderr,
    /// A line written by shipdeck itself (stage started, exit code, …).
    System,
    /// A line of shipdeck's that reports something that went well (a smoke check passed).
    Success,
    /// A line of shipdeck's that reports a failure (a smoke check failed, a deploy failed).
    Failure,
    /// A line that must not be missed (a release rolled back automatically).
    Alert,
}

impl LineKind {
    fn bits(self) -> u8 {
        match self {
            Self::Stdout => 0,
            Self::Stderr => 1,
            Self::System => 2,
            Self::Success => 3,
            Self::Failure => 4,
            Self::Alert => 5,
        }
    }

    fn from_bits(bits: u8) -> Self {
        match bits & KIND_MASK {
            1 => Self::Stderr,
            2 => Self::System,
            3 => Self::Success,
            4 => Self::Failure,
            5 => Self::Alert,
            _ => Self::Stdout,
        }
    }
}

/// A borrowed view of one stored line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// Absolute line number (0 = the first line ever appended).
    pub number: u64,
    /// Which stream it came from.
    pub kind: LineKind,
    /// The sanitized text, SGR escapes included.
    pub text: &'a str,
    flags: u8,
}

impl<'a> LogLine<'a> {
    /// Whether the text contains escapes (SGR) at all.
    pub fn has_escapes(&self) -> bool {
        self.flags & FLAG_ESC != 0
    }

    /// Whether the visible text is printable ASCII only (display width == plain length).
    pub(crate) fn is_simple(&self) -> bool {
        self.flags & FLAG_SIMPLE != 0
    }

    /// The text without SGR escapes, borrowed when there are none (the common case).
    pub fn plain(&self) -> Cow<'a, str> {
        if self.has_escapes() {
            Cow::Owned(term::strip_sgr(self.text))
        } else {
            Cow::Borrowed(self.text)
        }
    }
}

#[derive(Debug, Default)]
struct Chunk {
    /// Absolute number of the first line stored here.
    first: u64,
    text: String,
    ends: Vec<u32>,
    flags: Vec<u8>,
}

impl Chunk {
    fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    fn get(&self, i: usize) -> Option<(&str, u8)> {
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)? as usize,
            None => 0,
        };
        Some((self.text.get(start..end)?, *self.flags.get(i)?))
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4 + self.flags.capacity()
    }
}

/// One stage's log: a bounded tail of lines, addressed by absolute line number.
#[derive(Debug)]
pub struct LogBuffer {
    chunks: VecDeque<Chunk>,
    /// A dropped chunk kept for reuse, so a full buffer appends without allocating.
    spare: Option<Chunk>,
    capacity: usize,
    /// Heap bytes held beyond which the oldest chunks go (the file keeps them).
    max_bytes: usize,
    /// Heap bytes of the retained chunks' text, kept up to date on every change.
    held: usize,
    /// Scratch for the line being cut, reused.
    cut: String,
    /// First retained absolute line number.
    start: u64,
    /// One past the last line: the total number of lines ever appended.
    end: u64,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_TAIL_LINES)
    }
}

impl LogBuffer {
    /// An empty buffer keeping [`DEFAULT_TAIL_LINES`] lines.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer keeping the last `capacity` lines (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            spare: None,
            capacity: capacity.max(1),
            max_bytes: usize::MAX,
            held: 0,
            cut: String::new(),
            start: 0,
            end: 0,
        }
    }

    /// How many lines are kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keeps the buffer within about `bytes` of heap (whole chunks of old lines go first; the
    /// newest chunk always stays), now and from now on.
    pub fn set_max_bytes(&mut self, bytes: usize) {
        self.max_bytes = bytes;
        self.trim();
    }

    /// The heap byte bound set with [`Self::set_max_bytes`].
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Absolute number of the oldest retained line.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the newest line's absolute number (== [`Self::total_appended`]).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Number of retained lines.
    pub fn len(&self) -> usize {
        usize::try_from(self.end - self.start).unwrap_or(usize::MAX)
    }

    /// Whether no line is retained.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Lines appended since the buffer was created.
    pub fn total_appended(&self) -> u64 {
        self.end
    }

    /// Lines no longer kept (beyond the capacity, or cleared).
    pub fn dropped(&self) -> u64 {
        self.start
    }

    /// Appends a batch of lines of one stream, dropping the oldest beyond the capacity.
    pub fn push_lines<S: AsRef<str>>(&mut self, kind: LineKind, lines: impl IntoIterator<Item = S>) {
        for line in lines {
            self.push_one(kind, line.as_ref());
        }
        self.trim();
    }

    /// Drops every retained line; numbering continues (for a stage that reruns in place).
    pub fn clear(&mut self) {
        self.start = self.end;
        self.trim();
    }

    /// The line with absolute number `number`, if it is retained.
    pub fn line(&self, number: u64) -> Option<LogLine<'_>> {
        if number < self.start || number >= self.end {
            return None;
        }
        let first_no = self.chunks.front()?.first / CHUNK_LINES;
        let idx = usize::try_from(number / CHUNK_LINES - first_no).ok()?;
        let chunk = self.chunks.get(idx)?;
        let (text, flags) = chunk.get(usize::try_from(number - chunk.first).ok()?)?;
        Some(LogLine {
            number,
            kind: LineKind::from_bits(flags),
            text,
            flags,
        })
    }

    /// Retained lines with absolute numbers in `from..to` (clamped to what is retained).
    pub fn lines(&self, from: u64, to: u64) -> impl Iterator<Item = LogLine<'_>> + '_ {
        let from = from.max(self.start);
        let to = to.min(self.end);
        (from..to).filter_map(move |n| self.line(n))
    }

    /// Heap bytes held by the buffer (capacities, not lengths).
    pub fn heap_bytes(&self) -> usize {
        // Text is counted as it changes; each chunk's offsets and flags are reserved whole.
        let per_chunk = CHUNK_LINES as usize * 5;
        let spare = self.spare.as_ref().map_or(0, Chunk::heap_bytes);
        self.held
            + self.chunks.len() * per_chunk
            + spare
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.cut.capacity()
    }

    fn push_one(&mut self, kind: LineKind, line: &str) {
        let mut cut = std::mem::take(&mut self.cut);
        let line = if term::cut::cut_into(line, &mut cut) {
            cut.as_str()
        } else {
            line
        };
        self.push_text(kind, line);
        self.cut = cut;
    }

    fn push_text(&mut self, kind: LineKind, line: &str) {
        let bytes = line.as_bytes();
        let mut flags = kind.bits();
        if bytes.contains(&0x1b) {
            flags |= FLAG_ESC;
        }
        if bytes.iter().all(|&b| (0x20..0x7f).contains(&b) || b == 0x1b) {
            flags |= FLAG_SIMPLE;
        }
        let number = self.end;
        let needs_chunk = self
            .chunks
            .back()
            .is_none_or(|c| c.first / CHUNK_LINES != number / CHUNK_LINES);
        if needs_chunk {
            self.seal_last();
            // Seal first: a full tail frees its oldest chunk, which the new one reuses.
            self.trim_to(number + 1);
            let mut chunk = self.spare.take().unwrap_or_default();
            let hint = self.chunks.back().map_or(0, |c| c.text.len());
            chunk.first = number;
            chunk.text.clear();
            chunk.text.reserve(hint + hint / 16);
            chunk.ends.clear();
            chunk.ends.reserve(CHUNK_LINES as usize);
            chunk.flags.clear();
            chunk.flags.reserve(CHUNK_LINES as usize);
            self.held += chunk.text.capacity();
            self.chunks.push_back(chunk);
        }
        if let Some(chunk) = self.chunks.back_mut() {
            let before = chunk.text.capacity();
            chunk.text.push_str(line);
            self.held = self.held + chunk.text.capacity() - before;
            chunk.ends.push(u32::try_from(chunk.text.len()).unwrap_or(u32::MAX));
            chunk.flags.push(flags);
            self.end += 1;
        }
    }

    /// Gives back the slack of the last chunk's text before a new chunk starts.
    fn seal_last(&mut self) {
        if let Some(chunk) = self.chunks.back_mut() {
            if chunk.text.capacity() - chunk.text.len() > chunk.text.len() / 8 {
                let before = chunk.text.capacity();
                chunk.text.shrink_to_fit();
                self.held -= before - chunk.text.capacity();
            }
        }
    }

    fn trim(&mut self) {
        self.trim_to(self.end);
    }

    /// Drops lines so that at most `capacity` remain once the buffer ends at `end`.
    fn trim_to(&mut self, end: u64) {
        let keep_from = end.saturating_sub(self.capacity as u64);
        if keep_from > self.start {
            self.start = keep_from.min(self.end);
        }
        while let Some(front) = self.chunks.front() {
            if front.first + front.len() > self.start {
                break;
            }
            if let Some(chunk) = self.chunks.pop_front() {
                self.held -= chunk.text.capacity();
                if self.spare.is_none() {
                    self.spare = Some(chunk);
                }
            }
        }
        // Over the byte bound: old chunks go, and are freed rather than kept for reuse.
        while self.heap_bytes() > self.max_bytes && self.chunks.len() > 1 {
            if let Some(chunk) = self.chunks.pop_front() {
                self.held -= chunk.text.capacity();
            }
            self.spare = None;
            if let Some(front) = self.chunks.front() {
                self.start = self.start.max(front.first);
            }
        }
    }
}

#[cfg(test)]
#[path = "buffer_tests.rs"]
mod tests;
