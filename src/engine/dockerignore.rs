//! `.dockerignore` for the package stage's build context. The engine's build API does not read
//! it (the docker CLI applies it before sending the context), so shipdeck must: users rely on
//! it to keep files out of release images.
//!
//! The rules follow Docker's: one pattern a line, `#` comments, paths relative to the context
//! root (a leading `/` is dropped), `*` and `?` within one path segment, `**` across segments,
//! `[...]` classes, `!` re-includes, the last matching pattern wins, and a pattern that matches
//! a directory matches everything below it.
//!
//! Matching is globset's (compiled to a regex: linear in the path, whatever the pattern; a
//! hand-written backtracking matcher took close to a second on one path for a hostile rule).

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Default, Clone)]
pub struct DockerIgnore {
    /// Two globs a rule: the pattern itself and everything below it.
    set: GlobSet,
    /// For each glob of `set`, whether its rule is an exception (`!`).
    exception: Vec<bool>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let mut builder = GlobSetBuilder::new();
        let mut exception = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (is_exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(body);
            if cleaned.is_empty() {
                continue;
            }
            let pattern = to_globset(&cleaned);
            for glob in [pattern.clone(), format!("{pattern}/**")] {
                match compile(&glob, &cleaned) {
                    Some(glob) => {
                        builder.add(glob);
                        exception.push(is_exception);
                    }
                    None => tracing::warn!(".dockerignore: rule `{line}` cannot be read; it is left out"),
                }
            }
        }
        let set = builder.build().unwrap_or_else(|e| {
            tracing::warn!(".dockerignore: cannot compile its rules ({e}); nothing is left out");
            GlobSet::empty()
        });
        if set.is_empty() {
            exception.clear();
        }
        DockerIgnore { set, exception }
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        // The last matching rule wins; its two globs are adjacent, so the highest index is it.
        self.set
            .matches(path)
            .into_iter()
            .max()
            .and_then(|i| self.exception.get(i))
            .is_some_and(|exception| !exception)
    }
}

/// One glob with Docker's semantics: `*` and `?` stop at `/`, `\\` escapes. A pattern that
/// globset rejects (an unclosed `[`, say) is taken literally, as Docker's matcher would read
/// such a bracket.
fn compile(glob: &str, cleaned: &str) -> Option<globset::Glob> {
    let build = |g: &str| {
        GlobBuilder::new(g)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
    };
    build(glob).ok().or_else(|| {
        let literal = globset::escape(cleaned);
        let literal = if glob.ends_with("/**") {
            format!("{literal}/**")
        } else {
            literal
        };
        build(&literal).ok()
    })
}

/// Rewrites a Docker pattern into globset's syntax: braces are literal in Docker (escaped
/// here), and a `**` that is not a whole path segment (`a**b`) matches across `/` in Docker,
/// where globset would read it as `*`: it becomes "within the segment, or across segments".
fn to_globset(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push('\\');
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '{' | '}' => {
                out.push('\\');
                out.push(chars[i]);
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                let run_end = chars[i..].iter().position(|c| *c != '*').map_or(chars.len(), |n| i + n);
                let whole_segment =
                    (i == 0 || chars[i - 1] == '/') && (run_end == chars.len() || chars[run_end] == '/');
                out.push_str(if whole_segment { "**" } else { "{*,*/**/*}" });
                i = run_end;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Drops a leading `/` and `./`, trailing `/`, and empty or `.` segments, as filepath.Clean.
fn clean(pattern: &str) -> String {
    pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
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
    fn double_star_inside_a_segment_crosses_directories_as_in_docker() {
        assert!(excluded("a**b\n", "axx/yyb"));
        assert!(excluded("a**b\n", "ab"));
        assert!(!excluded("a**b\n", "axx/yyc"));
        assert!(excluded("x/**\n", "x/y/z"));
    }

    #[test]
    fn braces_and_unclosed_classes_are_literal() {
        assert!(excluded("{a,b}\n", "{a,b}"));
        assert!(!excluded("{a,b}\n", "a"));
        assert!(excluded("[abc\n", "[abc"));
    }

    /// The rule that made the hand-written matcher backtrack for most of a second on one path.
    #[test]
    fn a_hostile_rule_is_answered_without_backtracking() {
        let rules = DockerIgnore::parse("**/a**a**a**a**a**a**b\n");
        let path = "a".repeat(61);
        for _ in 0..1000 {
            assert!(!rules.is_excluded(&path));
        }
        assert!(rules.is_excluded(&format!("{path}b")));
    }

    #[test]
    fn comments_blanks_and_dot_segments() {
        let rules = "\n# comment\n ./node_modules \n";
        assert!(excluded(rules, "node_modules/x/y.js"));
        assert!(!excluded(rules, "# comment"));
    }
}
