//! Saves in the working tree: filtering, debouncing, new directories, release.toml, a monorepo app.

use super::*;

#[tokio::test]
async fn saving_a_tracked_file() {
    let repo = Repo::new();
    let (watcher, mut rx) = repo.watch(true);
    assert_eq!(watcher.watched_dirs(), 2, "the app dir and src/, not target/ or .git/");
    assert!(!watcher.polling());
    repo.write("src/main.py", "print('changed')\n");
    assert_eq!(next_saved(&mut rx).await, vec!["src/main.py"]);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_new_untracked_file() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(true);
    repo.write("notes.txt", "new");
    assert_eq!(next_saved(&mut rx).await, vec!["notes.txt"]);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn ignored_places_are_silent() {
    let repo = Repo::new();
    repo.write("src/.gitignore", "generated/\n");
    repo.write(".ignore", "scratch.txt\n");
    std::fs::create_dir_all(repo.path("src/generated")).unwrap_or_else(|e| panic!("{e}"));
    let mut options = repo.options(true);
    options.ignore = vec!["*.log".into(), "/docs/".into()];
    let (_watcher, mut rx) = start(options, Tuning::default());
    repo.write("target/debug/new.o", "x");
    repo.write("target/release/deep/new.o", "x");
    repo.write(".shipdeck/runs/1/log.txt", "x");
    repo.write(".git/shipdeck-test", "x");
    repo.write("server.log", "x");
    repo.write("src/deep/debug.log", "x");
    repo.write("docs/guide.md", "x");
    repo.write("src/generated/api.py", "x");
    repo.write("scratch.txt", "x");
    repo.write("src/.main.py.swp", "x");
    quiet(&mut rx).await;
    // The watcher is alive: a real save right after is reported alone.
    repo.write("src/ok.py", "x");
    assert_eq!(next_saved(&mut rx).await, vec!["src/ok.py"]);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_burst_of_fifty_files_is_one_trigger() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(true);
    let mut expected: Vec<String> = Vec::new();
    for i in 0..50 {
        let rel = if i % 2 == 0 {
            format!("src/gen_{i:02}.py")
        } else {
            format!("file_{i:02}.txt")
        };
        repo.write(&rel, "formatted\n");
        expected.push(rel);
    }
    expected.sort();
    let paths = next_saved(&mut rx).await;
    assert_eq!(paths.len(), 50);
    assert_eq!(paths, expected);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn an_editor_save_through_a_temporary_file() {
    let repo = Repo::new();
    repo.write("x.py", "old\n");
    let (_watcher, mut rx) = repo.watch(true);
    repo.write("x.tmp", "new\n");
    std::fs::rename(repo.path("x.tmp"), repo.path("x.py")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next_saved(&mut rx).await, vec!["x.py"]);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn files_in_directories_created_later() {
    let repo = Repo::new();
    let (watcher, mut rx) = repo.watch(true);
    // Directory and file at once: the file may be written before the directory's watch exists.
    repo.write("pkg/sub/mod.py", "x");
    assert_eq!(next_saved(&mut rx).await, vec!["pkg/sub/mod.py"]);
    assert_eq!(watcher.watched_dirs(), 4);
    // Later writes there are seen through the new watches.
    repo.write("pkg/sub/other.py", "x");
    assert_eq!(next_saved(&mut rx).await, vec!["pkg/sub/other.py"]);
    // A removed directory is dropped from the watches, and its removal reported.
    std::fs::remove_dir_all(repo.path("pkg")).unwrap_or_else(|e| panic!("{e}"));
    let removed = next_saved(&mut rx).await;
    assert!(removed.contains(&"pkg/sub/mod.py".to_string()), "{removed:?}");
    assert_eq!(watcher.watched_dirs(), 2);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn editing_release_toml_is_a_config_change_not_a_save() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(true);
    repo.write("release.toml", "[app]\nname = \"demo\"\n[watch]\ndebounce_ms = 100\n");
    repo.write("release.toml", "[app]\nname = \"demo\"\n[watch]\ndebounce_ms = 200\n");
    assert_eq!(next(&mut rx).await, Trigger::ConfigChanged);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_monorepo_app_watches_only_its_directory() {
    let repo = Repo::new();
    repo.write("apps/api/release.toml", "[app]\nname = \"api\"\n");
    repo.write("apps/api/src/app.py", "x");
    repo.write("apps/web/index.html", "x");
    repo.write("apps/api/target/x.o", "x");
    let mut options = repo.options(true);
    options.app_dir = PathBuf::from("apps/api");
    let (watcher, mut rx) = start(options, Tuning::default());
    assert_eq!(watcher.watched_dirs(), 2, "apps/api and apps/api/src");
    repo.write("apps/web/index.html", "changed");
    repo.write("README.md", "changed");
    repo.write("apps/api/target/y.o", "ignored by the root .gitignore");
    quiet(&mut rx).await;
    repo.write("apps/api/src/app.py", "changed");
    assert_eq!(next_saved(&mut rx).await, vec!["src/app.py"]);
    repo.write("apps/api/release.toml", "[app]\nname = \"api2\"\n");
    assert_eq!(next(&mut rx).await, Trigger::ConfigChanged);
    let sha = repo.commit("README.md", "outside the app");
    assert_eq!(next_head(&mut rx).await.0, sha);
    quiet(&mut rx).await;
}
