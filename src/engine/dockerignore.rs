//! `.dockerignore` for the package stage's build context. The engine's build API does not read
//! it (the docker CLI applies it before sending the context), so shipdeck must: users rely on
//! it to keep files out of release images.
//!
//! The rules follow Docker's: one pattern a line, `#` comments, paths relative to the context
//! root (a leading `/` is dropped), `*` and `?` within one path segment, `**` across segments,
//! `[...]` classes, `!` re-includes, the last matching pattern wins, and a pattern that matches
//! a directory matches everything below it.

#[derive(Debug, Default, Clone)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    exception: bool,
    pattern: Vec<char>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (exception, body) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let cleaned = clean(body);
                (!cleaned.is_empty()).then(|| Rule {
                    exception,
                    pattern: cleaned.chars().collect(),
                })
            })
            .collect();
        DockerIgnore { rules }
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        let mut excluded = false;
        for rule in &self.rules {
            if rule.matches_or_parent(path) {
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

impl Rule {
    fn matches_or_parent(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        if glob(&self.pattern, &chars) {
            return true;
        }
        chars
            .iter()
            .enumerate()
            .any(|(i, c)| *c == '/' && glob(&self.pattern, &chars[..i]))
    }
}

/// Drops a leading `/` and `./`, trailing `/`, and empty or `.` segments, as filepath.Clean.
fn clean(pattern: &str) -> String {
    pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn glob(pattern: &[char], path: &[char]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some('*') if pattern.get(1) == Some(&'*') => {
            // `**` matches any run of characters, slashes included; `**/` also matches nothing.
            let mut rest = &pattern[2..];
            if rest.first() == Some(&'/') && glob(&rest[1..], path) {
                return true;
            }
            if rest.first() == Some(&'/') {
                rest = &pattern[2..];
            }
            (0..=path.len()).any(|i| glob(rest, &path[i..]))
        }
        Some('*') => {
            let rest = &pattern[1..];
            let segment_end = path.iter().position(|c| *c == '/').unwrap_or(path.len());
            (0..=segment_end).any(|i| glob(rest, &path[i..]))
        }
        Some('?') => matches!(path.first(), Some(c) if *c != '/') && glob(&pattern[1..], &path[1..]),
        Some('[') => match (path.first(), class(&pattern[1..])) {
            (Some(c), Some((matched, len))) if *c != '/' && matched(*c) => glob(&pattern[1 + len..], &path[1..]),
            (_, None) => path.first() == Some(&'[') && glob(&pattern[1..], &path[1..]),
            _ => false,
        },
        Some('\\') if pattern.len() > 1 => path.first() == Some(&pattern[1]) && glob(&pattern[2..], &path[1..]),
        Some(p) => path.first() == Some(p) && glob(&pattern[1..], &path[1..]),
    }
}

/// A `[...]` class after its `[`: a matcher and the length consumed up to and with `]`.
#[allow(clippy::type_complexity)]
fn class(pattern: &[char]) -> Option<(Box<dyn Fn(char) -> bool>, usize)> {
    let end = pattern.iter().skip(1).position(|c| *c == ']')? + 1;
    let body = &pattern[..end];
    let (negated, body) = match body.first() {
        Some('^') | Some('!') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == '-' {
            ranges.push((body[i], body[i + 2]));
            i += 3;
        } else {
            ranges.push((body[i], body[i]));
            i += 1;
        }
    }
    Some((
        Box::new(move |c| ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != negated),
        end + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::DockerIgnore;

    fn excluded(rules: &str, path: &str) -> bool {
        DockerIgnore::parse(rules).is_excluded(path)
    }

    #[test]
    fn plain_names_and_directories() {
        assert!(excluded(".env\n", ".env"));
        assert!(
            !excluded(".env\n", "sub/.env"),
            "patterns are anchored at the context root"
        );
        assert!(
            excluded("secrets\n", "secrets/key.pem"),
            "a matching directory excludes what is below"
        );
        assert!(excluded("/build/\n", "build/out.o"));
    }

    #[test]
    fn wildcards() {
        assert!(excluded("*.log\n", "app.log"));
        assert!(!excluded("*.log\n", "logs/app.log"), "* stays within a segment");
        assert!(excluded("**/*.log\n", "logs/deep/app.log"));
        assert!(excluded("**/*.log\n", "app.log"), "**/ also matches no directory");
        assert!(excluded("src/**/test_*.py\n", "src/a/b/test_x.py"));
        assert!(excluded("file?.txt\n", "file1.txt"));
        assert!(!excluded("file?.txt\n", "file10.txt"));
        assert!(excluded("[a-c]*.md\n", "b-notes.md"));
        assert!(!excluded("[^a-c]*.md\n", "b-notes.md"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        let rules = "# only the artifact\n*\n!dist/hello.pyz\n";
        assert!(!excluded(rules, "dist/hello.pyz"));
        assert!(excluded(rules, "dist/other"));
        assert!(excluded(rules, "app/__main__.py"));
        assert!(
            excluded("!keep\n*\n", "keep"),
            "an exception before the exclusion loses"
        );
    }

    #[test]
    fn comments_blanks_and_dot_segments() {
        let rules = "\n# comment\n ./node_modules \n";
        assert!(excluded(rules, "node_modules/x/y.js"));
        assert!(!excluded(rules, "# comment"));
    }
}
