//! Small text helpers every part shares: one-line messages, cutting to a width, positions in a
//! file, "did you mean" guesses, word lists and durations ([`duration`]). One place each, so
//! that every view cuts, points and counts time the same way.

pub mod duration;

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The first line of a message, for one-line places.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// At most `max` characters: a longer `text` keeps `max - 1` of them and ends with `…`.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(text.len(), |(at, _)| at);
            Cow::Owned(format!("{}…", &text[..keep]))
        }
    }
}

/// The first `max` characters of `text`, without a mark (for fields with a size limit, such
/// as labels and short commit ids).
pub fn head_chars(text: &str, max: usize) -> &str {
    text.char_indices().nth(max).map_or(text, |(at, _)| &text[..at])
}

/// Cuts `text` to `width` display columns (wide characters count two), with `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// Display columns of `text` (wide characters count two, combining marks none).
pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` followed by spaces up to `width` display columns (nothing added when it is wider):
/// `format!("{:<w$}")` counts characters, so CJK text would push the next column right.
pub fn pad(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + width);
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(text.width())));
    out
}

/// `text` after spaces up to `width` display columns, for right-aligned cells.
pub fn pad_left(text: &str, width: usize) -> String {
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(text.width())).collect();
    out.push_str(text);
    out
}

/// 1-based line and column (columns count characters) of a byte offset; offsets past the end
/// clamp to the end, offsets inside a character snap back to its start.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// The candidate closest to `name`, if one is close enough to be a plausible typo.
///
/// Uses the optimal-string-alignment distance (a transposition counts as one edit) with a
/// tolerance that grows with the length of the name, and falls back on Jaro-Winkler similarity
/// for names that share a long prefix (`expect` → `expect_status`). Comparison ignores case;
/// `name` itself is never its own suggestion.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    let tolerance = (len / 3).max(1);
    let mut best: Option<(usize, f64, &'a str)> = None;
    for candidate in candidates {
        let other = candidate.to_lowercase();
        if other == lower && candidate == name {
            continue;
        }
        let distance = strsim::osa_distance(&lower, &other);
        let similarity = strsim::jaro_winkler(&lower, &other);
        let plausible = distance <= tolerance || (len >= 4 && similarity >= 0.9);
        if !plausible {
            continue;
        }
        let better = best.is_none_or(|(d, s, _)| distance < d || (distance == d && similarity > s));
        if better {
            best = Some((distance, similarity, candidate));
        }
    }
    best.map(|(_, _, candidate)| candidate)
}

/// Names in backticks, the last joined by `last_word`: "`a`, `b` or `c`".
pub fn quoted_list(names: &[&str], last_word: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {last_word} {last}", rest.join(", ")),
    }
}

/// A count and its noun, plural when it is not one: "1 check", "3 checks", "0 checks".
/// Nouns whose plural is not `+s` (none so far) would need a second argument.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `text` in quotes that it does not contain itself: `"Fix typo"`, but `'Revert "Fix typo"'`
/// rather than `"Revert "Fix typo""` (a commit subject often quotes another).
pub fn quoted(text: &str) -> String {
    match (text.contains('"'), text.contains('\'')) {
        (false, _) => format!("\"{text}\""),
        (true, false) => format!("'{text}'"),
        (true, true) => format!("«{text}»"),
    }
}

/// Seven characters of a commit ID, as git shows it short.
pub fn short_commit(id: &str) -> String {
    id.chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_short_commits() {
        assert_eq!(count(1, "check"), "1 check");
        assert_eq!(count(0, "check"), "0 checks");
        assert_eq!(count(12, "dir"), "12 dirs");
        assert_eq!(short_commit("0123456789abcdef"), "0123456");
        assert_eq!(short_commit("abc"), "abc");
    }

    #[test]
    fn quotes_never_nest() {
        assert_eq!(quoted("Fix typo"), "\"Fix typo\"");
        assert_eq!(quoted("Revert \"Fix typo\""), "'Revert \"Fix typo\"'");
        assert_eq!(quoted("Revert \"Don't\""), "«Revert \"Don't\"»");
    }

    #[test]
    fn first_line_of_empty_and_multi_line_text() {
        assert_eq!(first_line(""), "");
        assert_eq!(first_line("one\ntwo"), "one");
        assert_eq!(first_line("\nsecond"), "");
    }

    #[test]
    fn truncate_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello!", 5), "hell…");
        assert_eq!(truncate("héllo wörld", 4), "hél…");
        assert_eq!(truncate("abc", 0), "…");
        assert_eq!(truncate("", 0), "");
        assert!(matches!(truncate("short", 40), Cow::Borrowed(_)));
    }

    #[test]
    fn head_chars_never_splits_a_character() {
        assert_eq!(head_chars("0123456789abcdef", 7), "0123456");
        assert_eq!(head_chars("éèê", 2), "éè");
        assert_eq!(head_chars("ab", 7), "ab");
    }

    #[test]
    fn fit_counts_display_columns() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("", 3), "");
        // Wide characters take two columns each.
        assert_eq!(fit("日本語です", 5), "日本…");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn pads_count_display_columns() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("日本", 6), "日本  ");
        assert_eq!(pad("日本語", 4), "日本語", "wider than asked: unchanged");
        assert_eq!(pad_left("7", 3), "  7");
        assert_eq!(pad_left("語", 3), " 語");
        assert_eq!(width("e\u{301}"), 1, "a combining accent takes no column");
        // A cut that ends before a wide character is one column short; the pad fills it.
        let cut = fit("日本語です", 4);
        assert_eq!(cut, "日…");
        assert_eq!(width(&pad(&cut, 4)), 4);
    }

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let text = "ab\ncé d\n\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 1), (1, 2));
        assert_eq!(line_col(text, 2), (1, 3));
        assert_eq!(line_col(text, 3), (2, 1));
        // "é" is two bytes: the space after it is the third character.
        assert_eq!(line_col(text, 6), (2, 3));
        assert_eq!(line_col(text, 9), (3, 1));
        assert_eq!(line_col(text, 10), (4, 1));
        assert_eq!(line_col(text, 999), (4, 2));
        let text = "ab\né = 1\n";
        assert_eq!(line_col(text, text.find("= 1").unwrap()), (2, 3));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn offsets_inside_a_char_snap_back() {
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(line_col("x\né", 3), (2, 1));
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(&[], "or"), "");
        assert_eq!(quoted_list(&["a"], "or"), "`a`");
        assert_eq!(quoted_list(&["a", "b", "c"], "and"), "`a`, `b` and `c`");
    }
}
