//! Finding a secret in text the way a reader could: as is, percent-decoded, JSON-unescaped,
//! or decoded from hex or base64 runs; and checking that text holds no escape sequence but
//! colour. Independent of the masker's own list of patterns.
#![allow(dead_code)]

use base64::Engine as _;

/// Windows of this many bytes of the secret count as a trace of it.
const TRACE: usize = 8;

/// Whether `text` reveals `TRACE` consecutive bytes of `secret`: as is, percent-decoded,
/// JSON-unescaped, or decoded from any run of hex or base64 (any alignment, wrapped lines
/// joined). Independent of the masker's own pattern list.
pub fn reveals(text: &str, secret: &str) -> Option<String> {
    let secret = secret.as_bytes();
    let windows: Vec<&[u8]> = secret.windows(TRACE).collect();
    let has = |bytes: &[u8]| windows.iter().any(|w| bytes.windows(TRACE).any(|b| b == *w));
    if has(text.as_bytes()) {
        return Some("as is".into());
    }
    for plus in [false, true] {
        if has(&percent_decode(text, plus)) {
            return Some("percent-encoded".into());
        }
    }
    if has(json_unescape(text).as_bytes()) {
        return Some("JSON-escaped".into());
    }
    let joined = text.replace('\n', "");
    for run in joined.split(|c: char| !c.is_ascii_hexdigit()) {
        for shift in 0..2.min(run.len()) {
            let bytes: Vec<u8> = run.as_bytes()[shift..]
                .chunks_exact(2)
                .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                .collect();
            if has(&bytes) {
                return Some(format!("hex {run}"));
            }
        }
    }
    let lenient = base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    let engines = [
        base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
        base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
    ];
    for run in joined.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c))) {
        for shift in 0..4.min(run.len()) {
            let part = &run[shift..];
            let part = &part[..part.len() / 4 * 4];
            for engine in &engines {
                if engine.decode(part).is_ok_and(|b| has(&b)) {
                    return Some(format!("base64 {run}"));
                }
            }
        }
    }
    None
}

fn percent_decode(text: &str, plus: bool) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) if plus => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

pub fn json_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let Ok(unit) = u32::from_str_radix(&hex, 16) else {
                    continue;
                };
                if (0xD800..0xDC00).contains(&unit) {
                    pending_high = Some(unit);
                } else if let (Some(high), true) = (pending_high.take(), (0xDC00..0xE000).contains(&unit)) {
                    let code = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                    out.extend(char::from_u32(code));
                } else {
                    out.extend(char::from_u32(unit));
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Every ESC in `text` starts an SGR sequence, and no other control (BEL, C1) is there.
pub fn assert_only_sgr(what: &str, text: &str) {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == 0x1b {
            let rest = &bytes[i + 1..];
            let params = rest
                .iter()
                .skip(1)
                .take_while(|c| c.is_ascii_digit() || **c == b';' || **c == b':')
                .count();
            assert!(
                rest.first() == Some(&b'[') && rest.get(1 + params) == Some(&b'm'),
                "{what}: an escape sequence other than colour at byte {i}: {:?}",
                String::from_utf8_lossy(&bytes[i.saturating_sub(20)..(i + 20).min(bytes.len())])
            );
        }
        assert!(*b != 0x07, "{what}: a BEL at byte {i}");
    }
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "{what}: a C1 control"
    );
}
