//! Which working-tree paths are watched: git's ignore rules (every `.gitignore`, `.git/info/exclude`, the global
//! excludes file), `.ignore` files, shipdeck's own `.shipdeck/`, the `[watch].ignore` globs, and editor noise.
//!
//! The same rules serve twice: [`Rules::walker`] (the `ignore` crate's walker, which decides which directories get
//! a watch) and [`Rules::is_ignored`] (which filters each event, with the `ignore` crate's matchers, so a file saved
//! in a watched directory is judged exactly as the walker would).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{Match, Walk, WalkBuilder};

use super::WatchError;

/// Directory names never watched, at any depth: git's own data, and shipdeck's state and artifacts.
const SKIPPED_DIRS: [&str; 2] = [".git", ".shipdeck"];

/// Editor and OS scratch files: swap files, backups, lock files, probes. Saving them is not a change of the app.
const NOISE: [&str; 10] = [
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "4913",
    ".DS_Store",
    "*___jb_tmp___",
    "*___jb_old___",
];

/// The ignore files of one directory.
struct DirRules {
    dot_ignore: Gitignore,
    gitignore: Gitignore,
}

pub(crate) struct Rules {
    repo_root: PathBuf,
    app_dir: PathBuf,
    /// `[watch].ignore` and [`NOISE`], rooted at the app dir.
    user: Arc<Gitignore>,
    exclude: Gitignore,
    global: Gitignore,
    dirs: HashMap<PathBuf, DirRules>,
}

impl Rules {
    pub fn new(repo_root: &Path, app_dir: &Path, common_dir: &Path, globs: &[String]) -> Result<Rules, WatchError> {
        let mut user = GitignoreBuilder::new(app_dir);
        for glob in globs {
            user.add_line(None, glob).map_err(|source| WatchError::IgnoreGlob {
                glob: glob.clone(),
                source,
            })?;
        }
        for glob in NOISE {
            user.add_line(None, glob).map_err(|source| WatchError::IgnoreGlob {
                glob: glob.into(),
                source,
            })?;
        }
        let user = user.build().map_err(|source| WatchError::IgnoreGlob {
            glob: globs.join(", "),
            source,
        })?;
        let (global, error) = GitignoreBuilder::new(repo_root).build_global();
        if let Some(error) = error {
            tracing::debug!("global git excludes: {error}");
        }
        Ok(Rules {
            repo_root: repo_root.to_path_buf(),
            app_dir: app_dir.to_path_buf(),
            user: Arc::new(user),
            exclude: load(repo_root, &common_dir.join("info").join("exclude")),
            global,
            dirs: HashMap::new(),
        })
    }

    /// A walker over `root` (the app dir or a directory below it) that yields what is not ignored.
    pub fn walker(&self, root: &Path) -> Walk {
        let user = Arc::clone(&self.user);
        let app_dir = self.app_dir.clone();
        WalkBuilder::new(root)
            .hidden(false)
            .parents(true)
            .ignore(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(true)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |entry| {
                if entry.depth() > 0 && is_skipped_dir(entry.file_name()) {
                    return false;
                }
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                match entry.path().strip_prefix(&app_dir) {
                    Ok(rel) if !rel.as_os_str().is_empty() => {
                        !user.matched_path_or_any_parents(rel, is_dir).is_ignore()
                    }
                    _ => true,
                }
            })
            .build()
    }

    /// Whether a change of `path` (absolute, under the app dir) is to be ignored.
    pub fn is_ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let Ok(rel_app) = path.strip_prefix(&self.app_dir) else {
            return true;
        };
        if rel_app.as_os_str().is_empty() {
            return true;
        }
        if rel_app.components().any(|c| is_skipped_dir(c.as_os_str())) {
            return true;
        }
        if self.user.matched_path_or_any_parents(rel_app, is_dir).is_ignore() {
            return true;
        }
        // Like the walker: `.ignore` files beat `.gitignore` files, a deeper file beats a shallower one,
        // then .git/info/exclude, then the global excludes.
        let ancestors: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|dir| dir.starts_with(&self.repo_root))
            .map(Path::to_path_buf)
            .collect();
        for dot_ignore in [true, false] {
            for dir in &ancestors {
                let Ok(rel) = path.strip_prefix(dir) else { continue };
                let rules = self.dir_rules(dir);
                let matcher = if dot_ignore {
                    &rules.dot_ignore
                } else {
                    &rules.gitignore
                };
                match matcher.matched(rel, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        let Ok(rel_repo) = path.strip_prefix(&self.repo_root) else {
            return true;
        };
        for matcher in [&self.exclude, &self.global] {
            match matcher.matched(rel_repo, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }

    /// Forget the cached ignore files of `dir` (one of them changed).
    pub fn invalidate(&mut self, dir: &Path) {
        self.dirs.remove(dir);
    }

    fn dir_rules(&mut self, dir: &Path) -> &DirRules {
        self.dirs.entry(dir.to_path_buf()).or_insert_with(|| DirRules {
            dot_ignore: load(dir, &dir.join(".ignore")),
            gitignore: load(dir, &dir.join(".gitignore")),
        })
    }
}

/// Whether `name` is an ignore file, whose change changes the rules of its directory.
pub(crate) fn is_ignore_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == ".gitignore" || name == ".ignore")
}

fn is_skipped_dir(name: &OsStr) -> bool {
    SKIPPED_DIRS.iter().any(|skipped| name == *skipped)
}

/// The matcher of one ignore file rooted at `root`; empty when the file does not exist or does not parse.
fn load(root: &Path, file: &Path) -> Gitignore {
    if !file.is_file() {
        return Gitignore::empty();
    }
    let mut builder = GitignoreBuilder::new(root);
    if let Some(error) = builder.add(file) {
        tracing::debug!("{}: {error}", file.display());
    }
    builder.build().unwrap_or_else(|error| {
        tracing::debug!("{}: {error}", file.display());
        Gitignore::empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn rules_in(root: &Path, globs: &[&str]) -> Rules {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        match Rules::new(root, root, &root.join(".git"), &globs) {
            Ok(rules) => rules,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn gitignore_files_at_every_level_and_user_globs() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        fs::create_dir_all(root.join(".git/info"))?;
        fs::create_dir_all(root.join("src/gen"))?;
        fs::write(root.join(".gitignore"), "target/\n*.o\n!keep.o\n")?;
        fs::write(root.join("src/.gitignore"), "gen/\n")?;
        fs::write(root.join(".ignore"), "notes.md\n")?;
        fs::write(root.join(".git/info/exclude"), "local.txt\n")?;
        let mut rules = rules_in(root, &["*.log", "/docs/"]);
        let ignored = |rules: &mut Rules, rel: &str, dir: bool| rules.is_ignored(&root.join(rel), dir);
        assert!(ignored(&mut rules, "target", true));
        assert!(
            !ignored(&mut rules, "target", false),
            "`target/` only matches directories"
        );
        assert!(ignored(&mut rules, "a/b.o", false));
        assert!(!ignored(&mut rules, "keep.o", false));
        assert!(ignored(&mut rules, "src/gen", true));
        assert!(ignored(&mut rules, "notes.md", false));
        assert!(ignored(&mut rules, "local.txt", false));
        assert!(ignored(&mut rules, "x/y/run.log", false));
        assert!(ignored(&mut rules, "docs/a.md", false));
        assert!(
            !ignored(&mut rules, "src/docs/a.md", false),
            "`/docs/` is anchored at the app dir"
        );
        assert!(ignored(&mut rules, ".shipdeck/runs/1.log", false));
        assert!(ignored(&mut rules, ".git/index", false));
        assert!(ignored(&mut rules, "src/.main.py.swp", false));
        assert!(!ignored(&mut rules, "src/main.py", false));
        assert!(!ignored(&mut rules, ".env", false), "dotfiles are watched");
        Ok(())
    }

    #[test]
    fn the_walker_skips_what_the_matcher_ignores() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        for d in [
            ".git/objects",
            "target/debug",
            "src/gen",
            ".shipdeck/artifacts",
            "logs",
            ".github",
        ] {
            fs::create_dir_all(root.join(d))?;
        }
        fs::write(root.join(".gitignore"), "target/\n")?;
        fs::write(root.join("src/.gitignore"), "gen/\n")?;
        let rules = rules_in(root, &["logs/"]);
        let mut dirs: Vec<PathBuf> = rules
            .walker(root)
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
            .filter_map(|e| e.path().strip_prefix(root).ok().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        let expected: Vec<PathBuf> = ["", ".github", "src"].iter().map(PathBuf::from).collect();
        assert_eq!(dirs, expected);
        Ok(())
    }

    #[test]
    fn a_bad_glob_names_the_glob() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let globs = vec!["src/{a,b".to_string()];
        match Rules::new(dir.path(), dir.path(), dir.path(), &globs) {
            Err(WatchError::IgnoreGlob { glob, .. }) => assert_eq!(glob, "src/{a,b"),
            other => panic!("expected IgnoreGlob, got {:?}", other.err()),
        }
        Ok(())
    }
}
