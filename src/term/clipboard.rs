//! Copying to the terminal's clipboard with OSC 52. What is copied comes from repositories,
//! engines and stage output: hostile. It is reduced to one line of plain printable text
//! (so a paste can neither run a command by its newline nor carry an escape sequence), and
//! sent base64-encoded, so nothing of it reaches the terminal as a byte of its own.

use base64::Engine as _;

/// The most that is copied: terminals cap OSC 52 (xterm at about 100 kB of base64).
pub const MAX_COPY_BYTES: usize = 32 * 1024;

/// `text` as it is copied: escape sequences and control characters out, whitespace runs
/// (newlines, tabs) as one space, trimmed, cut on a character boundary at [`MAX_COPY_BYTES`].
pub fn copyable(text: &str) -> String {
    let plain = super::plain_text(text);
    let mut out = String::with_capacity(plain.len().min(MAX_COPY_BYTES));
    for word in plain.split(|c: char| c.is_whitespace() || c.is_control()) {
        let word: String = word.chars().filter(|c| !c.is_control()).collect();
        if word.is_empty() {
            continue;
        }
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + word.len() > MAX_COPY_BYTES {
            if sep == 1 {
                out.push(' ');
            }
            for c in word.chars() {
                if out.len() + c.len_utf8() > MAX_COPY_BYTES {
                    break;
                }
                out.push(c);
            }
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// The OSC 52 sequence that sets the clipboard to [`copyable`] `text`.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(copyable(text));
    format!("\x1b]52;c;{encoded}\x07")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(sequence: &str) -> String {
        let body = sequence
            .strip_prefix("\x1b]52;c;")
            .and_then(|s| s.strip_suffix('\x07'))
            .unwrap();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap()
    }

    #[test]
    fn hostile_text_is_one_plain_line_inside_one_sequence() {
        let hostile = "fix\x1b]52;c;ZXZpbA==\x07 the\x1b[2J\r\nrm -rf / \u{9b}31m\x00done\u{202e}";
        let sequence = osc52(hostile);
        // The only escape and bell are the sequence's own.
        assert_eq!(sequence.matches('\x1b').count(), 1, "{sequence:?}");
        assert_eq!(sequence.matches('\x07').count(), 1, "{sequence:?}");
        assert!(sequence.bytes().all(|b| b >= 0x20 || b == 0x1b || b == 0x07));
        let copied = decoded(&sequence);
        assert!(!copied.contains('\n') && !copied.contains('\r'), "{copied:?}");
        assert!(copied.chars().all(|c| !c.is_control()), "{copied:?}");
        assert!(copied.starts_with("fix") && copied.contains("rm -rf /"), "{copied:?}");
    }

    #[test]
    fn a_commit_id_is_copied_as_it_is() {
        let id = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(decoded(&osc52(id)), id);
    }

    #[test]
    fn a_huge_text_is_cut_on_a_character_boundary() {
        let huge = "é".repeat(MAX_COPY_BYTES);
        let copied = copyable(&huge);
        assert!(copied.len() <= MAX_COPY_BYTES && copied.len() > MAX_COPY_BYTES - 4);
        assert!(copied.chars().all(|c| c == 'é'));
    }
}
