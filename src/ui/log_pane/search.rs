//! Plain-text search with smart case, and the per-pane search state (matching line numbers).

use std::collections::VecDeque;
use std::ops::Range;

use super::buffer::LogBuffer;

/// A compiled query: case-sensitive iff the query has an uppercase char ("smart case").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    query: String,
    case_sensitive: bool,
    /// The query lowercased char by char (used when case-insensitive).
    folded: Vec<char>,
}

impl Matcher {
    /// `None` for an empty query.
    pub fn new(query: &str) -> Option<Self> {
        if query.is_empty() {
            return None;
        }
        let case_sensitive = query.chars().any(char::is_uppercase);
        let folded = query.chars().flat_map(char::to_lowercase).collect();
        Some(Self {
            query: query.to_owned(),
            case_sensitive,
            folded,
        })
    }

    /// The query as typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Whether matching is case-sensitive (the query has an uppercase char).
    pub fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// Whether `hay` contains the query.
    pub fn is_match(&self, hay: &str) -> bool {
        self.find_at(hay, 0).is_some()
    }

    /// Byte ranges of the non-overlapping occurrences in `hay`.
    pub fn find_all(&self, hay: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = self.find_at(hay, from) {
            from = if found.end > found.start {
                found.end
            } else {
                found.end + 1
            };
            out.push(found);
            if from > hay.len() {
                break;
            }
        }
        out
    }

    fn find_at(&self, hay: &str, from: usize) -> Option<Range<usize>> {
        let rest = hay.get(from..)?;
        if self.case_sensitive {
            let i = rest.find(self.query.as_str())?;
            return Some(from + i..from + i + self.query.len());
        }
        if rest.is_ascii() && self.query.is_ascii() {
            let q = self.query.as_bytes();
            let i = rest
                .as_bytes()
                .windows(q.len())
                .position(|w| w.eq_ignore_ascii_case(q))?;
            return Some(from + i..from + i + q.len());
        }
        rest.char_indices()
            .find_map(|(i, _)| self.folded_match_len(&rest[i..]).map(|len| i..i + len))
            .map(|r| from + r.start..from + r.end)
    }

    /// Length in bytes of the prefix of `s` equal to the folded query, if any.
    fn folded_match_len(&self, s: &str) -> Option<usize> {
        let mut want = self.folded.iter();
        let mut next = want.next();
        for (i, c) in s.char_indices() {
            for lc in c.to_lowercase() {
                match next {
                    Some(&w) if w == lc => next = want.next(),
                    _ => return None,
                }
            }
            if next.is_none() {
                return Some(i + c.len_utf8());
            }
        }
        None
    }
}

/// Search state of one pane: the query and the absolute numbers of the matching lines.
#[derive(Debug, Clone)]
pub(crate) struct SearchState {
    pub(crate) matcher: Matcher,
    /// Ascending absolute line numbers of retained lines that match.
    pub(crate) matches: VecDeque<u64>,
    /// The current match (a line number, so it survives lines being dropped before it).
    pub(crate) current: Option<u64>,
    /// Lines before this absolute number have been searched.
    searched_to: u64,
}

impl SearchState {
    /// Searches every retained line of `buffer`.
    pub(crate) fn new(matcher: Matcher, buffer: &LogBuffer) -> Self {
        let mut state = Self {
            matcher,
            matches: VecDeque::new(),
            current: None,
            searched_to: buffer.start(),
        };
        state.sync(buffer);
        state
    }

    /// Forgets matches on dropped lines and searches only the lines appended since last time.
    pub(crate) fn sync(&mut self, buffer: &LogBuffer) {
        let dropped = self.matches.partition_point(|&n| n < buffer.start());
        self.matches.drain(..dropped);
        if self.current.is_some_and(|c| c < buffer.start()) {
            self.current = None;
        }
        let from = self.searched_to.max(buffer.start());
        for line in buffer.lines(from, buffer.end()) {
            if self.matcher.is_match(&line.plain()) {
                self.matches.push_back(line.number);
            }
        }
        self.searched_to = buffer.end();
    }

    /// 0-based index of the current match among the matches.
    pub(crate) fn current_index(&self) -> Option<usize> {
        let current = self.current?;
        self.matches.binary_search(&current).ok()
    }

    /// The first match after `line` (wrapping to the first), or the first at/after `line`
    /// when `inclusive`.
    pub(crate) fn after(&self, line: u64, inclusive: bool) -> Option<u64> {
        let i = self
            .matches
            .partition_point(|&n| if inclusive { n < line } else { n <= line });
        self.matches.get(i).or(self.matches.front()).copied()
    }

    /// The last match before `line` (wrapping to the last), or at/before when `inclusive`.
    pub(crate) fn before(&self, line: u64, inclusive: bool) -> Option<u64> {
        let i = self
            .matches
            .partition_point(|&n| if inclusive { n <= line } else { n < line });
        i.checked_sub(1)
            .and_then(|i| self.matches.get(i))
            .or(self.matches.back())
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::log_pane::LineKind;

    fn m(q: &str) -> Matcher {
        Matcher::new(q).unwrap_or_else(|| panic!("empty query"))
    }

    #[test]
    fn smart_case() {
        assert!(!m("error").case_sensitive());
        assert!(m("Error").case_sensitive());
        assert!(m("error").is_match("An ERROR occurred"));
        assert!(m("error").is_match("Error: x"));
        assert!(!m("Error").is_match("ERROR: x"));
        assert!(m("Error").is_match("an Error"));
        assert!(Matcher::new("").is_none());
    }

    #[test]
    fn unicode_case_folding_keeps_byte_ranges_of_the_original() {
        assert_eq!(m("straße").find_all("STRASSE Straße"), vec![8..15]);
        assert_eq!(m("émile").find_all("Hi ÉMILE"), vec![3..9]);
        assert_eq!(m("ü").find_all("ÜüÜ"), vec![0..2, 2..4, 4..6]);
    }

    #[test]
    fn find_all_is_non_overlapping() {
        assert_eq!(m("aa").find_all("aaaaa"), vec![0..2, 2..4]);
        assert_eq!(m("x").find_all("no"), Vec::<Range<usize>>::new());
    }

    #[test]
    fn incremental_sync_and_dropped_matches() {
        let mut buf = LogBuffer::with_capacity(10);
        buf.push_lines(LineKind::Stdout, (0..10).map(|i| format!("l{i} {}", i % 3)));
        let mut s = SearchState::new(m("0"), &buf);
        assert_eq!(s.matches, [0, 3, 6, 9]);
        s.current = Some(3);
        buf.push_lines(LineKind::Stdout, (10..15).map(|i| format!("l{i} {}", i % 3)));
        s.sync(&buf);
        // Lines 0..5 dropped (and their matches, including the current one); 12 is new.
        assert_eq!(s.matches, [6, 9, 10, 12]);
        assert_eq!(s.current, None);
        assert_eq!(s.searched_to, 15);
    }

    #[test]
    fn wraparound_neighbours() {
        let mut buf = LogBuffer::new();
        buf.push_lines(LineKind::Stdout, ["a", "x", "a", "x", "a"]);
        let s = SearchState::new(m("a"), &buf);
        assert_eq!(s.after(0, false), Some(2));
        assert_eq!(s.after(4, false), Some(0));
        assert_eq!(s.after(4, true), Some(4));
        assert_eq!(s.before(2, false), Some(0));
        assert_eq!(s.before(0, false), Some(4));
        assert_eq!(s.before(3, true), Some(2));
    }
}
