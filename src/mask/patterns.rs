//! The forms a secret takes in output: the value itself (and each line of a multi-line value),
//! base64 at every alignment, URL-encoding, hex and JSON string escaping.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;

use super::MIN_SECRET_LEN;

/// Every pattern that reveals `value`, unsorted and possibly repeated. Empty for a value too
/// short to mask.
#[cfg(test)]
pub(super) fn patterns(value: &str) -> Vec<String> {
    let (mut text, encoded) = forms(value);
    text.extend(encoded);
    text
}

/// The patterns that reveal `value`: (forms that read as text — the value, its lines, URL and
/// JSON forms —, encoded forms — base64, hex). Empty for a value too short to mask.
pub(super) fn forms(value: &str) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    if value.chars().count() < MIN_SECRET_LEN {
        return (out, Vec::new());
    }
    out.push(value.to_string());
    // A multi-line secret (a key file) shows up one line at a time.
    if value.contains('\n') {
        out.extend(
            value
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| l.chars().count() >= MIN_SECRET_LEN)
                .map(str::to_string),
        );
    }
    url_forms(value, &mut out);
    json_forms(value, &mut out);
    let mut encoded = Vec::new();
    base64_forms(value.as_bytes(), &mut encoded);
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    encoded.push(hex.to_ascii_uppercase());
    encoded.push(hex);
    out.retain(|p| p.chars().count() >= MIN_SECRET_LEN);
    encoded.retain(|p| p.chars().count() >= MIN_SECRET_LEN);
    (out, encoded)
}

/// The characters of base64 that depend on the secret alone, wherever it starts in the
/// encoded data: at offset 0, 1 or 2 of a 3-byte group the first 0, 2 or 3 characters also
/// carry bits of the bytes before it, and the last group's characters the bytes after it.
/// Plus the whole padded encoding (the secret encoded on its own), in both alphabets.
fn base64_forms(secret: &[u8], out: &mut Vec<String>) {
    for engine in [&STANDARD, &URL_SAFE] {
        out.push(engine.encode(secret));
        for (offset, skip) in [(0usize, 0usize), (1, 2), (2, 3)] {
            let mut data = vec![0u8; offset];
            data.extend_from_slice(secret);
            let encoded = engine.encode(&data);
            let stable_end = 4 * (data.len() / 3) + data.len() % 3;
            if let Some(stable) = encoded.get(skip..stable_end) {
                out.push(stable.to_string());
            }
        }
    }
}

/// Percent-encoding as the common encoders do it: RFC 3986 (`-_.~` kept), JavaScript's
/// `encodeURIComponent` (also `!'()*` kept), each with and without `/` kept (Python's `quote`,
/// `encodeURI`), hex digits in either case, a space as `%20` or `+` (forms).
fn url_forms(value: &str, out: &mut Vec<String>) {
    for extra in ["", "!'()*"] {
        for slash in [false, true] {
            for upper in [true, false] {
                for plus in [false, true] {
                    out.push(percent_encode(value, extra, slash, upper, plus));
                }
            }
        }
    }
}

fn percent_encode(value: &str, extra: &str, slash: bool, upper: bool, plus: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        let kept = b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || extra.as_bytes().contains(&b);
        if kept || (slash && b == b'/') {
            out.push(b as char);
        } else if plus && b == b' ' {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The value inside a JSON string: escaped as serde and most encoders do (only `"`, `\` and
/// controls), with `/` escaped too (PHP), and ASCII-only (`\u00e9`, Python's default).
fn json_forms(value: &str, out: &mut Vec<String>) {
    let Ok(quoted) = serde_json::to_string(value) else {
        return;
    };
    let minimal = quoted[1..quoted.len() - 1].to_string();
    let mut ascii = String::with_capacity(minimal.len());
    for c in minimal.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    for form in [upper_hex_escapes(&ascii), ascii, minimal] {
        out.push(form.replace('/', "\\/"));
        out.push(form);
    }
}

/// `\u00e9` → `\u00E9` (some encoders write upper-case hex digits).
fn upper_hex_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\\u") {
        out.push_str(&rest[..at + 2]);
        let digits: String = rest[at + 2..].chars().take(4).collect();
        out.push_str(&digits.to_ascii_uppercase());
        rest = &rest[at + 2 + digits.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_stable_parts_are_found_at_every_offset() {
        let secret = b"tok-SECRET-value";
        let forms = {
            let mut v = Vec::new();
            base64_forms(secret, &mut v);
            v
        };
        for offset in 0..3 {
            for tail in 0..3 {
                let mut data = b"xyz"[..offset].to_vec();
                data.extend_from_slice(secret);
                data.extend_from_slice(&b"!?#"[..tail]);
                let encoded = STANDARD.encode(&data);
                assert!(
                    forms.iter().any(|f| encoded.contains(f.as_str()) && f.len() >= 18),
                    "offset {offset}, tail {tail}: {encoded} has none of {forms:?}"
                );
            }
        }
    }

    #[test]
    fn url_json_and_hex_forms() {
        let p = patterns("a b/c\"é");
        for form in [
            "a%20b%2Fc%22%C3%A9",
            "a%20b/c%22%C3%A9",
            "a+b%2fc%22%c3%a9",
            "a b/c\\\"é",
            "a b\\/c\\\"é",
            "a b/c\\\"\\u00e9",
            "a b/c\\\"\\u00E9",
            "6120622f6322c3a9",
            "6120622F6322C3A9",
        ] {
            assert!(p.iter().any(|x| x == form), "{form} missing from {p:?}");
        }
    }

    #[test]
    fn short_values_have_no_patterns() {
        assert!(patterns("abc").is_empty());
        assert!(!patterns("abcd").is_empty());
    }
}
