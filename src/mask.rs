//! Stage output → masked lines.
//!
//! Output arrives in chunks cut wherever the engine's buffers happened to end. [`LineBuffer`]
//! reassembles lines first and [`SecretMasker`] masks whole lines, so a secret that arrives
//! split across two chunks is masked like any other.

use base64::Engine as _;

pub const MASK: &str = "***";

/// Lines longer than this (binary output, a minified file) are cut into pieces of about this
/// size, so one runaway line cannot hold unbounded memory.
pub const MAX_LINE: usize = 64 * 1024;

/// Secrets shorter than this are not masked: masking `a` or `1` everywhere would destroy the log
/// and protect nothing. The engine warns about them.
pub const MIN_SECRET_LEN: usize = 4;

/// See [`LineBuffer::push`].
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Replaces every secret value, and its common encodings, with `***`.
#[derive(Debug, Clone, Default)]
pub struct SecretMasker {
    /// Longest first, so that a secret containing another is masked whole.
    patterns: Vec<String>,
}

impl SecretMasker {
    pub fn new<I, S>(values: I) -> SecretMasker
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns = Vec::new();
        for value in values {
            let value = value.as_ref();
            if value.chars().count() < MIN_SECRET_LEN {
                continue;
            }
            // A multi-line secret (a key file) shows up one line at a time.
            for part in value.lines().filter(|p| p.len() >= MIN_SECRET_LEN) {
                patterns.push(part.to_string());
            }
            let bytes = value.as_bytes();
            patterns.push(base64::engine::general_purpose::STANDARD.encode(bytes));
            patterns.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));
            patterns.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
            patterns.push(percent_encode(value));
        }
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        SecretMasker { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The length of the longest pattern: how much of a cut line must be held back so that a
    /// secret spanning the cut is still seen whole.
    pub fn longest(&self) -> usize {
        self.patterns.first().map(String::len).unwrap_or(0)
    }

    pub fn mask(&self, line: String) -> String {
        if self.patterns.iter().all(|p| !line.contains(p.as_str())) {
            return line;
        }
        let mut line = line;
        for p in &self.patterns {
            if line.contains(p.as_str()) {
                line = line.replace(p.as_str(), MASK);
            }
        }
        line
    }
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Turns chunks of bytes into complete, masked lines (without their `\n` or `\r\n`).
#[derive(Debug, Default)]
pub struct LineBuffer {
    partial: Vec<u8>,
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
                emit(self.masker.mask(decode(&line)));
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
                emit(self.masker.mask(decode(line)));
            } else {
                self.partial.extend_from_slice(line);
                emit(self.masker.mask(decode(&self.partial)));
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
            emit(self.masker.mask(decode(&head)));
        }
    }

    /// The last line of a stream that did not end with a newline.
    pub fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            emit(self.masker.mask(decode(&rest)));
        }
    }

    /// A place at or before `at` to cut the partial line that splits neither a UTF-8 sequence
    /// nor a secret: the kept part always holds the last `longest` bytes, so any secret that
    /// might still be arriving is kept whole, and a complete one across the cut moves the cut.
    fn safe_cut(&self, at: usize) -> usize {
        let mut cut = char_boundary(&self.partial, at);
        'again: loop {
            for p in self.masker.patterns.iter().map(String::as_bytes) {
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
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// The greatest index at or below `at` that does not split a UTF-8 sequence.
fn char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut i = at.min(bytes.len());
    while i > 0 && i < bytes.len() && (bytes[i] & 0b1100_0000) == 0b1000_0000 {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(buffer: &mut LineBuffer, chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        for c in chunks {
            buffer.push(c, |l| out.push(l));
        }
        buffer.finish(|l| out.push(l));
        out
    }

    #[test]
    fn reassembles_lines_across_chunks() {
        let mut b = LineBuffer::new(SecretMasker::default());
        let out = lines(&mut b, &[b"one\ntw", b"o\r\nthr", b"ee"]);
        assert_eq!(out, ["one", "two", "three"]);
    }

    #[test]
    fn masks_a_secret_split_across_chunks() {
        let mut b = LineBuffer::new(SecretMasker::new(["hunter2-s3cret"]));
        let out = lines(&mut b, &[b"token=hunter2", b"-s3cret done\n"]);
        assert_eq!(out, ["token=*** done"]);
    }

    #[test]
    fn masks_common_encodings() {
        let masker = SecretMasker::new(["p@ss word!"]);
        let b64 = base64::engine::general_purpose::STANDARD.encode("p@ss word!");
        assert_eq!(masker.mask(format!("b64 {b64}")), "b64 ***");
        assert_eq!(masker.mask("url p%40ss%20word%21".to_string()), "url ***");
        assert_eq!(masker.mask("plain p@ss word!".to_string()), "plain ***");
    }

    #[test]
    fn too_short_secrets_are_not_patterns() {
        let masker = SecretMasker::new(["ab", ""]);
        assert!(masker.is_empty());
        assert_eq!(masker.mask("ab".into()), "ab");
    }

    #[test]
    fn a_long_line_is_cut_without_splitting_secrets_or_characters() {
        let secret = "SECRETSECRET";
        for shift in 0..secret.len() {
            let mut b = LineBuffer::new(SecretMasker::new([secret]));
            let mut long = "é".repeat(MAX_LINE / 2 + 20).into_bytes();
            long.extend_from_slice(&b"x".repeat(shift));
            long.extend_from_slice(secret.as_bytes());
            long.extend_from_slice(b"-");
            long.extend_from_slice(&b"y".repeat(shift));
            let out = lines(&mut b, &[&long, b"tail\n"]);
            assert!(out.len() >= 2, "the line was cut");
            assert!(out.iter().all(|l| !l.contains('\u{FFFD}')), "no broken characters");
            assert!(
                out.iter().all(|l| !l.contains("SECRET")),
                "secret masked across the cut: {:?}",
                out.last()
            );
        }
    }

    #[test]
    fn a_record_separator_ends_an_unterminated_line() {
        let mut b = LineBuffer::new(SecretMasker::default());
        assert_eq!(
            lines(&mut b, &[b"partial", b"\x1e$ next\nout\n\x1e$ again\n"]),
            ["partial", "$ next", "out", "$ again"]
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let mut b = LineBuffer::new(SecretMasker::default());
        assert_eq!(lines(&mut b, &[b"ok \xff\xfe end\n"]), ["ok \u{FFFD}\u{FFFD} end"]);
    }
}
