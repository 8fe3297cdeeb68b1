//! The inotify watch limit: fall back to polling the same filtered directories, and say so once.

use super::*;

#[tokio::test]
async fn past_the_watch_limit_the_tree_is_polled_and_the_user_told() {
    let repo = Repo::new();
    for dir in ["a/b", "c", "d/e/f"] {
        repo.write(&format!("{dir}/keep.txt"), "x");
    }
    let tuning = Tuning {
        poll_interval: Duration::from_millis(200),
        max_tree_watches: Some(3),
        ..Tuning::default()
    };
    let (watcher, mut rx) = start(repo.options(true), tuning);
    match next(&mut rx).await {
        Trigger::Warning(text) => {
            assert!(text.contains("fs.inotify.max_user_watches"), "{text}");
            assert!(
                text.contains("sudo sysctl fs.inotify.max_user_watches=524288"),
                "{text}"
            );
        }
        other => panic!("expected a warning, got {other:?}"),
    }
    assert!(watcher.polling());
    assert_eq!(watcher.watched_dirs(), 8, "root, src, a, a/b, c, d, d/e, d/e/f");
    // Same filtering, and two saves of one file within a second are both seen.
    repo.write("target/debug/ignored.o", "x");
    repo.write("d/e/f/keep.txt", "changed");
    assert_eq!(next_saved(&mut rx).await, vec!["d/e/f/keep.txt"]);
    repo.write("d/e/f/keep.txt", "changed again");
    assert_eq!(next_saved(&mut rx).await, vec!["d/e/f/keep.txt"]);
    // New directories are polled too.
    repo.write("new/dir/file.txt", "x");
    assert_eq!(next_saved(&mut rx).await, vec!["new/dir/file.txt"]);
    // Commits still come through the git dir's inotify watches.
    let sha = repo.commit("src/main.py", "while polling");
    let mut head = None;
    for _ in 0..2 {
        match next(&mut rx).await {
            Trigger::Head { commit, .. } => head = Some(commit),
            Trigger::Saved { paths } => assert_eq!(paths, vec![PathBuf::from("src/main.py")]),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(head, Some(sha));
    quiet(&mut rx).await;
}
