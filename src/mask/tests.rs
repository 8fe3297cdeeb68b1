//! The masker: encodings, alignments, escapes, chunks and streams.

use super::*;
use base64::Engine as _;

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

// ---- encodings, escapes, streams (issue #8 items 6–7) ----

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

/// Bytes chosen so that the standard base64 alphabet's `+` and `/` occur in its encodings.
const SECRET: &str = "tok-SECRET>>?~v4lue";

fn mask_all(masker: &SecretMasker, text: &str) -> Vec<String> {
    let mut b = LineBuffer::new(masker.clone());
    lines(&mut b, &[text.as_bytes()])
}

/// Whether any 6 consecutive bytes of `secret` can be read back from base64 runs in `text`,
/// at any alignment, in either alphabet, with the lines of a wrapped encoding joined.
fn base64_reveals(text: &str, secret: &[u8]) -> bool {
    let lenient = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    let engines = [
        GeneralPurpose::new(&base64::alphabet::STANDARD, lenient),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient),
    ];
    let joined = text.replace('\n', "");
    let runs = joined.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c)));
    for run in runs {
        for shift in 0..4.min(run.len()) {
            let part = &run[shift..];
            let part = &part[..part.len() / 4 * 4];
            for engine in &engines {
                if let Ok(bytes) = engine.decode(part) {
                    if secret.windows(6).any(|w| bytes.windows(6).any(|b| b == w)) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[test]
fn base64_is_masked_at_every_alignment_and_both_alphabets() {
    let masker = SecretMasker::new([SECRET]);
    for offset in 0..3 {
        for tail in 0..3 {
            let mut data = b"abc"[..offset].to_vec();
            data.extend_from_slice(SECRET.as_bytes());
            data.extend_from_slice(&b"xyz"[..tail]);
            for encoded in [
                STANDARD.encode(&data),
                URL_SAFE.encode(&data),
                URL_SAFE_NO_PAD.encode(&data),
            ] {
                assert!(
                    base64_reveals(&encoded, SECRET.as_bytes()),
                    "the check itself sees {encoded}"
                );
                let out = mask_all(&masker, &format!("data: {encoded} end")).join("\n");
                assert!(
                    !base64_reveals(&out, SECRET.as_bytes()),
                    "offset {offset} tail {tail}: {out}"
                );
                assert!(
                    out.contains(MASK) && out.starts_with("data: ") && out.ends_with(" end"),
                    "{out}"
                );
            }
        }
    }
}

#[test]
fn wrapped_base64_is_masked_wherever_the_wrap_falls() {
    // A long secret too: its encoding spans three 76-column lines.
    let long = format!("{SECRET}-{}", "Kq9#".repeat(20));
    for secret in [SECRET.to_string(), long] {
        let masker = SecretMasker::new([secret.as_str()]);
        for lead in 0..80 {
            let mut data = vec![b'.'; lead];
            data.extend_from_slice(secret.as_bytes());
            data.extend_from_slice(b" and more text after it");
            let encoded = STANDARD.encode(&data);
            let wrapped: Vec<&str> = encoded
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let out = mask_all(&masker, &(wrapped.join("\n") + "\n"));
            assert_eq!(out.len(), wrapped.len());
            assert!(
                !base64_reveals(&out.join("\n"), secret.as_bytes()),
                "lead {lead}: {out:#?}"
            );
        }
    }
}

#[test]
fn url_encodings_are_masked() {
    let secret = "p@ss/word! é+x";
    let masker = SecretMasker::new([secret]);
    for encoded in [
        "p%40ss%2Fword%21%20%C3%A9%2Bx",
        "p%40ss/word%21%20%C3%A9%2Bx",
        "p%40ss%2fword%21%20%c3%a9%2bx",
        "p%40ss/word!+%C3%A9%2Bx",
        "p%40ss%2Fword!%20%C3%A9%2Bx",
    ] {
        assert_eq!(
            masker.mask(format!("GET /?t={encoded}&a=1")),
            "GET /?t=***&a=1",
            "{encoded}"
        );
    }
}

#[test]
fn hex_in_both_cases_is_masked() {
    let masker = SecretMasker::new([SECRET]);
    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(masker.mask(format!("x={hex};")), "x=***;");
    assert_eq!(masker.mask(format!("X={};", hex.to_uppercase())), "X=***;");
}

#[test]
fn json_escaped_secrets_are_masked() {
    let secret = "qu\"ote\\back/slash-é-\u{1F511}";
    let masker = SecretMasker::new([secret]);
    let serde = serde_json::to_string(&serde_json::json!({ "token": secret })).unwrap();
    assert_eq!(masker.mask(serde), r#"{"token":"***"}"#);
    // Python's json.dumps: ASCII only, surrogate pairs for astral characters.
    let python = r#"{"token": "qu\"ote\\back/slash-\u00e9-\ud83d\udd11"}"#;
    assert_eq!(masker.mask(python.to_string()), r#"{"token": "***"}"#);
    let php = r#"{"token":"qu\"ote\\back\/slash-\u00E9-\uD83D\uDD11"}"#;
    assert_eq!(masker.mask(php.to_string()), r#"{"token":"***"}"#);
}

#[test]
fn an_escape_sequence_inside_the_secret_does_not_hide_it() {
    let masker = SecretMasker::new(["tok-SECRET-1"]);
    for line in [
        "a tok-SEC\x1b[KRET-1 b",
        "a tok-SEC\x1b]2;title\x07RET-1 b",
        "a tok-SEC\x1b]52;c;aGk=\x1b\\RET-1 b",
        "a tok-\x1b[2JSECRET\x1b[?1049h-1 b",
        "a tok-SEC\u{9b}1mRET-1 b",
    ] {
        let out = mask_all(&masker, line);
        assert_eq!(crate::term::strip_sgr(&out[0]), "a *** b", "{line:?} → {out:?}");
    }
    // A colour inside it: masked, and the colour change is kept for what follows.
    let out = mask_all(&masker, "tok-SEC\x1b[31mRET-1 red");
    assert_eq!(out, ["***\x1b[31m red"]);
    // Raw text handed to `mask` (an event's message) is masked both as seen and as stored.
    assert_eq!(
        masker.mask("t \x1b]0;tok-SECRET-1\x07 u".to_string()),
        "t \x1b]0;***\x07 u"
    );
}

/// What a terminal draws as nothing, or draws over, does not hide a secret either: a
/// zero-width space, a word joiner or a soft hyphen inside it, a bidi override, or a wrong
/// character taken back with a backspace.
#[test]
fn invisible_characters_and_backspaces_inside_the_secret_do_not_hide_it() {
    let masker = SecretMasker::new(["tok-SECRET-1"]);
    for line in [
        "a tok-S\u{200b}ECRET-1 b",
        "a tok-S\u{2060}ECRET-1 b",
        "a tok-S\u{ad}ECRET-1 b",
        "a tok-\u{202e}SECRET-1 b",
        "a tok-SX\x08ECRET-1 b",
        "a tok-SS\x08ECRET-1 b",
    ] {
        let out = mask_all(&masker, line);
        let seen = crate::term::strip_sgr(&out[0]);
        assert!(!seen.contains("ECRET"), "{line:?} → {out:?}");
        assert!(seen.starts_with("a ") && seen.ends_with(" b"), "{line:?} → {out:?}");
    }
}

#[test]
fn a_secret_split_between_stdout_and_stderr_is_masked_on_both_sides() {
    let masker = SecretMasker::new(["tok-SECRET-1"]);
    let mut out = StageOutput::new(masker);
    let (mut o, mut e) = (Vec::new(), Vec::new());
    out.push(OutStream::Stdout, b"say tok-SE", |l| o.push(l));
    out.push(OutStream::Stderr, b"CRET-1 there\nnext\n", |l| e.push(l));
    out.push(OutStream::Stdout, b" and on\n", |l| o.push(l));
    out.finish(OutStream::Stdout, |l| o.push(l));
    out.finish(OutStream::Stderr, |l| e.push(l));
    assert_eq!(o, ["say *** and on"]);
    assert_eq!(e, ["*** there", "next"]);
    // And with an escape sequence at the seam.
    let mut out = StageOutput::new(SecretMasker::new(["tok-SECRET-1"]));
    let (mut o, mut e) = (Vec::new(), Vec::new());
    out.push(OutStream::Stderr, b"tok-SEC\x1b[K", |l| e.push(l));
    out.push(OutStream::Stdout, b"\x1b[1mRET-1\n", |l| o.push(l));
    out.finish(OutStream::Stderr, |l| e.push(l));
    assert!(
        o.iter().chain(&e).all(|l| !crate::term::strip_sgr(l).contains("SEC")),
        "{o:?} {e:?}"
    );
    // Three pieces, interleaved: stdout, stderr, stdout again.
    let mut out = StageOutput::new(SecretMasker::new(["tok-SECRET-1"]));
    let (mut o, mut e) = (Vec::new(), Vec::new());
    out.push(OutStream::Stdout, b"x=tok-", |l| o.push(l));
    out.push(OutStream::Stderr, b"SEC", |l| e.push(l));
    out.push(OutStream::Stdout, b"RET-1 y\n", |l| o.push(l));
    out.finish(OutStream::Stdout, |l| o.push(l));
    out.finish(OutStream::Stderr, |l| e.push(l));
    assert!(
        o.iter().chain(&e).all(|l| !l.contains("SEC") && !l.contains("tok-")),
        "{o:?} {e:?}"
    );
    assert_eq!(o, ["x=****** y"]);
    assert_eq!(e, ["***"]);
    // Streams that do not join a secret keep their lines intact.
    let mut out = StageOutput::new(SecretMasker::new(["tok-SECRET-1"]));
    let (mut o, mut e) = (Vec::new(), Vec::new());
    out.push(OutStream::Stdout, b"half a li", |l| o.push(l));
    out.push(OutStream::Stderr, b"warning\n", |l| e.push(l));
    out.push(OutStream::Stdout, b"ne\n", |l| o.push(l));
    assert_eq!((o, e), (vec!["half a line".to_string()], vec!["warning".to_string()]));
}

#[test]
fn a_secret_split_across_chunks_of_one_stream_is_masked_at_every_cut() {
    let masker = SecretMasker::new([SECRET]);
    let hex: String = SECRET.bytes().map(|b| format!("{b:02X}")).collect();
    for form in [SECRET.to_string(), STANDARD.encode(SECRET), hex] {
        let text = format!("v={form} ok\n");
        for cut in 0..text.len() {
            let mut b = LineBuffer::new(masker.clone());
            let out = lines(&mut b, &[&text.as_bytes()[..cut], &text.as_bytes()[cut..]]);
            assert_eq!(out, ["v=*** ok"], "{form} cut at {cut}");
        }
    }
}

#[test]
fn output_lines_are_sanitized_before_they_are_shown_or_stored() {
    let mut b = LineBuffer::new(SecretMasker::default());
    let out = lines(
        &mut b,
        &[b"\x1b]52;c;aGk=\x07\x1b[2J\x1b[?1049h\x1b[32mgreen\x1b[0m\x1b]2;t\x07\n"],
    );
    assert_eq!(out, ["\x1b[32mgreen\x1b[0m"]);
}

#[test]
fn a_cut_excerpt_does_not_keep_the_start_of_a_secret() {
    let masker = SecretMasker::new([SECRET]);
    // A body excerpt cut at its limit, in the middle of the secret.
    let cut = format!("body: {}", &SECRET[..11]);
    assert_eq!(masker.mask(cut), "body: ***");
    // …but a short, common-looking piece stays (4 characters reveal little).
    assert_eq!(masker.mask("body: tok-".into()), "body: tok-");
    // A URL secret: a line that merely ends in its scheme is left alone.
    let masker = SecretMasker::new(["postgres://app:pw-123456@db/app"]);
    assert_eq!(
        masker.mask("connecting with postgres".into()),
        "connecting with postgres"
    );
    assert_eq!(masker.mask("url: postgres://app:pw-1".into()), "url: ***");
}

#[test]
fn the_shared_masker_grows_and_everyone_sees_it() {
    let shared = SharedMasker::default();
    let before = shared.current();
    shared.add(["first-secret".to_string()]);
    shared.add(["second-secret".to_string(), "first-secret".to_string()]);
    assert!(before.is_empty());
    let now = shared.current();
    assert_eq!(now.mask("first-secret second-secret".into()), "*** ***");
}
