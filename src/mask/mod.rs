//! Secrets out of every text shipdeck shows or stores.
//!
//! [`SecretMasker`] replaces a secret's value and its common encodings (see `patterns`) with
//! `***` in what a reader would see: escape sequences inside a secret do not hide it, and a
//! piece of a secret cut at the start or end of a line (wrapped base64, a cut excerpt) is
//! masked too. [`LineBuffer`] and [`StageOutput`] turn a stage's output chunks into
//! sanitized, masked lines, also when a secret arrives split across chunks or across the
//! stage's stdout and stderr interleaved.

mod lines;
mod patterns;
mod streams;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

pub use lines::{LineBuffer, MAX_LINE, RECORD_SEPARATOR};
pub use streams::{OutStream, StageOutput};

pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking `a` or `1` everywhere would destroy the log
/// and protect nothing. The engine warns about them.
pub const MIN_SECRET_LEN: usize = 4;

/// Secrets shorter than this are masked, but `shipdeck check` warns that they are weak: easy to
/// guess, and likely to mask unrelated text.
pub const WEAK_SECRET_LEN: usize = 8;

/// A piece of an encoded form (base64, hex) at least this long, cut by the start or end of a
/// line, is masked: a wrapped base64 or hex dump. Shorter pieces reveal too little to be worth
/// masking unrelated text that happens to look like them.
pub const FRAGMENT_MIN: usize = 5;

/// The same for the forms that read as text (the value, URL, JSON): a body excerpt cut in the
/// middle of a secret. Longer, so that a line ending in `https://` or `postgres` is not masked
/// because a secret starts that way.
pub const TEXT_FRAGMENT_MIN: usize = 10;

/// Replaces every secret value, and its common encodings, with `***`. Cheap to clone (every
/// stage's streams and log file hold one): the tables are shared.
#[derive(Debug, Clone, Default)]
pub struct SecretMasker {
    /// Longest first.
    patterns: Arc<Vec<String>>,
    /// Leftmost-longest search over `patterns`; `None` when there are none.
    finder: Option<AhoCorasick>,
    /// Proper prefixes and suffixes of the patterns, at least [`FRAGMENT_MIN`] long.
    heads: Arc<HashSet<Box<[u8]>>>,
    tails: Arc<HashSet<Box<[u8]>>>,
    /// Every [`FRAGMENT_MIN`]-byte window of the patterns, as [`gram`]s.
    grams: Arc<HashSet<u64>>,
}

impl SecretMasker {
    pub fn new<I, S>(values: I) -> SecretMasker
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns = Vec::new();
        let mut text_forms = HashSet::new();
        for value in values {
            let (text, encoded) = patterns::forms(value.as_ref());
            text_forms.extend(text.iter().cloned());
            patterns.extend(text);
            patterns.extend(encoded);
        }
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        let finder = if patterns.is_empty() {
            None
        } else {
            // Patterns are a few dozen short strings: building cannot fail on them; if it ever
            // did, the naive search below still masks.
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        let (mut heads, mut tails, mut grams) = (HashSet::new(), HashSet::new(), HashSet::new());
        for p in patterns.iter().map(String::as_bytes) {
            grams.extend(p.windows(FRAGMENT_MIN).map(gram));
            let min = if text_forms.contains(std::str::from_utf8(p).unwrap_or_default()) {
                TEXT_FRAGMENT_MIN
            } else {
                FRAGMENT_MIN
            };
            for n in min..p.len() {
                heads.insert(p[..n].into());
                tails.insert(p[p.len() - n..].into());
            }
        }
        SecretMasker {
            patterns: Arc::new(patterns),
            finder,
            heads: Arc::new(heads),
            tails: Arc::new(tails),
            grams: Arc::new(grams),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The length of the longest pattern: how much of a cut line must be held back so that a
    /// secret spanning the cut is still seen whole.
    pub fn longest(&self) -> usize {
        self.patterns.first().map(String::len).unwrap_or(0)
    }

    /// Every form searched for, longest first (for benchmarks and diagnostics; never shown).
    pub fn all_patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Masks one line (or a text of several): every secret in the text as a reader sees it,
    /// and in its raw bytes (a secret inside an escape sequence a terminal would swallow).
    pub fn mask(&self, line: String) -> String {
        if self.is_empty() {
            return line;
        }
        if line.contains('\n') {
            let masked: Vec<String> = line.split('\n').map(|l| self.mask(l.to_string())).collect();
            return masked.join("\n");
        }
        let line = self.mask_plain(line);
        if crate::term::has_control(&line) || crate::term::has_invisible(&line) {
            self.mask_visible(line)
        } else {
            line
        }
    }

    /// Masks `text` taken as plain characters.
    fn mask_plain(&self, text: String) -> String {
        let ranges = self.ranges(&text);
        if ranges.is_empty() {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Masks what a terminal would show of `line`: the secret is found in its visible text,
    /// and its characters are replaced; the escape sequences between them stay (after
    /// sanitizing, those are only colours).
    fn mask_visible(&self, line: String) -> String {
        let visible = crate::term::visible_text(&line);
        let ranges = self.ranges(&visible.text);
        if ranges.is_empty() {
            return line;
        }
        let bytes = line.as_bytes();
        let mut shown = vec![false; bytes.len()];
        for &raw in &visible.raw {
            if let Some(s) = shown.get_mut(raw) {
                *s = true;
            }
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for (start, end) in ranges {
            let (Some(&from), Some(&last)) = (visible.raw.get(start), visible.raw.get(end - 1)) else {
                continue;
            };
            out.extend_from_slice(&bytes[at..from]);
            out.extend_from_slice(MASK.as_bytes());
            // Keep what is not text inside the secret (colour changes), never its characters.
            for (i, b) in bytes.iter().enumerate().take(last + 1).skip(from) {
                if !shown[i] {
                    out.push(*b);
                }
            }
            at = last + 1;
        }
        out.extend_from_slice(&bytes[at..]);
        // Only whole characters and whole escape sequences were removed.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Where the patterns occur in `text`: byte ranges, in order, not overlapping.
    pub(crate) fn find(&self, text: &str) -> Vec<(usize, usize)> {
        match &self.finder {
            Some(finder) => finder.find_iter(text).map(|m| (m.start(), m.end())).collect(),
            None => self.naive_ranges(text),
        }
    }

    /// Byte ranges of `text` to mask, in order, not overlapping: every pattern, and a piece of
    /// one that the start or the end of the text cuts.
    fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges = self.find(text);
        let bytes = text.as_bytes();
        if bytes.len() >= FRAGMENT_MIN {
            let first = ranges.first().map_or(bytes.len(), |r| r.0);
            if let Some(n) = self.cut_head(bytes, first) {
                ranges.insert(0, (0, n));
            }
            let last = ranges.last().map_or(0, |r| r.1);
            if let Some(n) = self.cut_tail(bytes, last) {
                ranges.push((bytes.len() - n, bytes.len()));
            }
        }
        if ranges.is_empty() && self.inside_a_pattern(bytes) {
            ranges.push((0, bytes.len()));
        }
        ranges
    }

    /// The longest start of `bytes` (ending at or before `limit`) that is a proper end of a
    /// pattern.
    fn cut_head(&self, bytes: &[u8], limit: usize) -> Option<usize> {
        if !self.grams.contains(&gram(&bytes[..FRAGMENT_MIN])) {
            return None;
        }
        let upper = self.longest().saturating_sub(1).min(limit).min(bytes.len());
        (FRAGMENT_MIN..=upper)
            .rev()
            .filter(|&n| text_boundary(bytes, n))
            .find(|&n| self.tails.contains(&bytes[..n]))
    }

    /// The longest end of `bytes` (starting at or after `limit`) that is a proper start of a
    /// pattern.
    fn cut_tail(&self, bytes: &[u8], limit: usize) -> Option<usize> {
        if !self.grams.contains(&gram(&bytes[bytes.len() - FRAGMENT_MIN..])) {
            return None;
        }
        let upper = self.longest().saturating_sub(1).min(bytes.len().saturating_sub(limit));
        (FRAGMENT_MIN..=upper)
            .rev()
            .filter(|&n| text_boundary(bytes, bytes.len() - n))
            .find(|&n| self.heads.contains(&bytes[bytes.len() - n..]))
    }

    /// Whether the whole of `bytes` is the middle of a longer pattern: one line of a long
    /// secret's encoding wrapped over three lines or more.
    fn inside_a_pattern(&self, bytes: &[u8]) -> bool {
        bytes.len() >= 2 * FRAGMENT_MIN
            && self.grams.contains(&gram(bytes))
            && self
                .patterns
                .iter()
                .take_while(|p| p.len() > bytes.len())
                .any(|p| memchr::memmem::find(p.as_bytes(), bytes).is_some())
    }

    fn naive_ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let hit = self
                .patterns
                .iter()
                .filter_map(|p| text[at..].find(p.as_str()).map(|i| (at + i, at + i + p.len())))
                .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            match hit {
                Some(r) => {
                    ranges.push(r);
                    at = r.1;
                }
                None => break,
            }
        }
        ranges
    }
}

/// Five bytes as one key: a cheap first test before the fragment sets are searched.
fn gram(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(FRAGMENT_MIN)
        .fold(0u64, |k, b| (k << 8) | u64::from(*b))
}

fn text_boundary(bytes: &[u8], i: usize) -> bool {
    i == 0 || i >= bytes.len() || (bytes[i] & 0b1100_0000) != 0b1000_0000
}

/// The masker every engine task and the recorder share: the secrets read so far in this
/// process, so that text from any of them is masked, in the events, the history and the logs.
#[derive(Debug, Clone, Default)]
pub struct SharedMasker {
    inner: Arc<RwLock<(Vec<String>, Arc<SecretMasker>)>>,
}

impl SharedMasker {
    /// Adds secret values; masking with them starts before this returns.
    pub fn add<I: IntoIterator<Item = String>>(&self, values: I) {
        let Ok(mut guard) = self.inner.write() else {
            return;
        };
        let before = guard.0.len();
        for v in values {
            if !guard.0.contains(&v) {
                guard.0.push(v);
            }
        }
        if guard.0.len() != before {
            let masker = SecretMasker::new(&guard.0);
            guard.1 = Arc::new(masker);
        }
    }

    /// The masker as it is now.
    pub fn current(&self) -> Arc<SecretMasker> {
        match self.inner.read() {
            Ok(guard) => guard.1.clone(),
            // A writer panicked mid-update: the values are still there, rebuild from them.
            Err(poisoned) => Arc::new(SecretMasker::new(&poisoned.get_ref().0)),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
