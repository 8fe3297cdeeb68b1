//! Property tests: however output is chunked, coloured or escaped, what a reader sees of the
//! masked lines never holds the secret.

use super::*;
use proptest::prelude::*;

const SECRET: &str = "pr0p-S3cret/Value";

/// Escape sequences a stage might put inside a secret: colour, erase, title, clipboard.
const ESCAPES: &[&str] = &[
    "\x1b[31m",
    "\x1b[K",
    "\x1b]2;x\x07",
    "\x1b]52;c;aGk=\x1b\\",
    "\x1b[0m",
    "",
];

fn with_escape(secret: &str, at: usize, escape: &str) -> String {
    let at = at % (secret.len() + 1);
    format!("{}{escape}{}", &secret[..at], &secret[at..])
}

proptest! {
    #[test]
    fn no_chunking_or_escape_reveals_the_secret(
        before in "[a-z =]{0,20}",
        after in "[a-z =]{0,20}",
        at in 0usize..40,
        escape in 0usize..ESCAPES.len(),
        cuts in proptest::collection::vec(0usize..80, 0..4),
        streams in proptest::collection::vec(any::<bool>(), 5),
    ) {
        let line = format!("{before}{}{after}\n", with_escape(SECRET, at, ESCAPES[escape]));
        let bytes = line.as_bytes();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut output = StageOutput::new(SecretMasker::new([SECRET]));
        let mut lines = Vec::new();
        let mut from = 0;
        for (index, cut) in cuts.into_iter().chain([bytes.len()]).enumerate() {
            // Each chunk on either stream: a secret split across them, interleaved.
            let stream = if streams[index] { OutStream::Stderr } else { OutStream::Stdout };
            output.push(stream, &bytes[from..cut], |l| lines.push(l));
            from = cut;
        }
        output.finish(OutStream::Stdout, |l| lines.push(l));
        output.finish(OutStream::Stderr, |l| lines.push(l));
        let seen: String = lines.iter().map(|l| crate::term::strip_sgr(l)).collect::<Vec<_>>().join("\n");
        prop_assert!(!seen.contains(SECRET), "{:?} → {:?}", line, lines);
        prop_assert!(!lines.iter().any(|l| l.contains(SECRET)), "{:?}", lines);
    }

    #[test]
    fn masking_is_idempotent_and_leaves_other_text_alone(text in "[ -~]{0,60}") {
        let masker = SecretMasker::new([SECRET]);
        let once = masker.mask(text.clone());
        prop_assert_eq!(masker.mask(once.clone()), once.clone());
        if !text.contains("pr0p") && !text.contains("S3cr") {
            prop_assert_eq!(once, text);
        }
    }
}
