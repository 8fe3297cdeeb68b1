//! Stage output → sanitized, masked lines.
//!
//! Output arrives in chunks cut wherever the engine's buffers happened to end. [`LineBuffer`]
//! reassembles lines first, sanitizes them (only colour sequences stay) and then masks what
//! is left to see, so a secret that arrives split across two chunks, or with an escape
//! sequence inside it, is masked like any other.

use super::SecretMasker;
use crate::term::sanitize_cow;

/// Lines longer than this (binary output, a minified file) are cut into pieces of about this
/// size, so one runaway line cannot hold unbounded memory.
pub const MAX_LINE: usize = 64 * 1024;

/// See [`LineBuffer::push`].
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Turns chunks of bytes into complete, masked lines (without their `\n` or `\r\n`).
#[derive(Debug, Default)]
pub struct LineBuffer {
    pub(super) partial: Vec<u8>,
    masker: SecretMasker,
}

impl LineBuffer {
    pub fn new(masker: SecretMasker) -> LineBuffer {
        LineBuffer {
            partial: Vec::new(),
            masker,
        }
    }

    /// Feeds a chunk; calls `emit` for each line completed by it. A RECORD SEPARATOR byte
    /// (0x1E) ends a pending unterminated line and is dropped: shipdeck's own command echo
    /// starts with one, so it always begins a line of its own.
    pub fn push(&mut self, chunk: &[u8], mut emit: impl FnMut(String)) {
        let mut parts = chunk.split(|b| *b == RECORD_SEPARATOR);
        if let Some(first) = parts.next() {
            self.push_part(first, &mut emit);
        }
        for part in parts {
            if !self.partial.is_empty() {
                let line = std::mem::take(&mut self.partial);
                emit(self.line(&line));
            }
            self.push_part(part, &mut emit);
        }
    }

    fn push_part(&mut self, chunk: &[u8], emit: &mut impl FnMut(String)) {
        let mut rest = chunk;
        while let Some(nl) = memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(nl);
            rest = &tail[1..];
            if self.partial.is_empty() {
                emit(self.line(line));
            } else {
                self.partial.extend_from_slice(line);
                emit(self.line(&self.partial));
                self.partial.clear();
            }
        }
        self.partial.extend_from_slice(rest);
        let hold_back = self.masker.longest();
        while self.partial.len() > MAX_LINE + hold_back {
            let cut = self.safe_cut(self.partial.len() - hold_back);
            if cut == 0 {
                break;
            }
            let head: Vec<u8> = self.partial.drain(..cut).collect();
            emit(self.line(&head));
        }
    }

    /// A complete line as it is shown and stored: sanitized, then masked.
    fn line(&self, raw: &[u8]) -> String {
        let text = decode(raw);
        let text = match sanitize_cow(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(clean) => clean,
        };
        self.masker.mask(text)
    }

    /// The last line of a stream that did not end with a newline.
    pub fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            emit(self.line(&rest));
        }
    }

    /// A place at or before `at` to cut the partial line that splits neither a UTF-8 sequence
    /// nor a secret: the kept part always holds the last `longest` bytes, so any secret that
    /// might still be arriving is kept whole, and a complete one across the cut moves the cut.
    fn safe_cut(&self, at: usize) -> usize {
        let mut cut = char_boundary(&self.partial, at);
        'again: loop {
            for p in self.masker.all_patterns().iter().map(String::as_bytes) {
                let from = cut.saturating_sub(p.len() - 1);
                let to = (cut + p.len() - 1).min(self.partial.len());
                if let Some(i) = find(&self.partial[from..to], p) {
                    cut = char_boundary(&self.partial, from + i);
                    continue 'again;
                }
            }
            return cut;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memchr(needle, haystack)
}

fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// The greatest index at or below `at` that does not split a UTF-8 sequence.
pub(super) fn char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut i = at.min(bytes.len());
    while i > 0 && i < bytes.len() && (bytes[i] & 0b1100_0000) == 0b1000_0000 {
        i -= 1;
    }
    i
}
