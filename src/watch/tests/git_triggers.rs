//! HEAD moves: commits, amend, rebase, branch switches, detached checkouts, gc, pause.

use super::*;

#[tokio::test]
async fn a_commit_is_a_new_commit_on_the_branch() {
    let repo = Repo::new();
    let before = repo.head();
    let (_watcher, mut rx) = repo.watch(false);
    let sha = repo.commit("src/main.py", "second");
    let (commit, branch, previous, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, branch, previous, kind),
        (sha, Some("main".into()), Some(before), HeadChange::NewCommit)
    );
    quiet(&mut rx).await;
}

#[tokio::test]
async fn an_amend_moves_head() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(false);
    let before = repo.head();
    repo.git(&["commit", "-q", "--amend", "-m", "first, reworded"]);
    let (commit, _, previous, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, previous, kind),
        (repo.head(), Some(before), HeadChange::NewCommit)
    );
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_rebase_delivers_the_final_head_once() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    for i in 0..4 {
        repo.commit(&format!("feature{i}.txt"), &format!("feature {i}"));
    }
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("base.txt", "base moved");
    repo.git(&["checkout", "-q", "feature"]);
    let before = repo.head();
    let (_watcher, mut rx) = repo.watch(false);
    repo.git(&["rebase", "-q", "main"]);
    let (commit, branch, previous, kind) = next_head(&mut rx).await;
    assert_eq!(commit, repo.head());
    assert_ne!(commit, before);
    assert_eq!(
        (branch, previous, kind),
        (Some("feature".into()), Some(before), HeadChange::NewCommit)
    );
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_new_branch_at_the_same_commit_is_silent_until_it_moves() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(false);
    repo.git(&["checkout", "-q", "-b", "other"]);
    quiet(&mut rx).await;
    let sha = repo.commit("other.txt", "on other");
    let (commit, branch, _, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, branch, kind),
        (sha, Some("other".into()), HeadChange::NewCommit)
    );
    quiet(&mut rx).await;
}

#[tokio::test]
async fn switching_to_a_branch_elsewhere_and_detaching() {
    let repo = Repo::new();
    let first = repo.head();
    repo.git(&["checkout", "-q", "-b", "other"]);
    let other = repo.commit("other.txt", "on other");
    repo.git(&["checkout", "-q", "main"]);
    let second = repo.commit("main.txt", "on main");
    let (_watcher, mut rx) = repo.watch(false);

    repo.git(&["checkout", "-q", "other"]);
    let (commit, branch, previous, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, branch, previous, kind),
        (other, Some("other".into()), Some(second), HeadChange::BranchSwitched)
    );

    repo.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let (commit, branch, _, kind) = next_head(&mut rx).await;
    assert_eq!((commit, branch, kind), (first, None, HeadChange::Detached));
    quiet(&mut rx).await;
}

#[tokio::test]
async fn gc_and_pack_refs_are_silent() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.commit("other.txt", "on other");
    repo.git(&["checkout", "-q", "main"]);
    let (_watcher, mut rx) = repo.watch(true);
    repo.git(&["pack-refs", "--all"]);
    repo.git(&["gc", "-q"]);
    quiet(&mut rx).await;
    let sha = repo.commit("after-gc.txt", "after gc");
    // The commit wrote a file too (save is on): a Saved and the Head, in either order.
    let mut head = None;
    for _ in 0..2 {
        match next(&mut rx).await {
            Trigger::Head { commit, kind, .. } => head = Some((commit, kind)),
            Trigger::Saved { paths } => assert_eq!(paths, vec![PathBuf::from("after-gc.txt")]),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(head, Some((sha, HeadChange::NewCommit)));
    quiet(&mut rx).await;
}

#[tokio::test]
async fn a_commit_by_another_tool_through_libgit2() {
    let repo = Repo::new();
    let (_watcher, mut rx) = repo.watch(false);
    let sha = {
        let git = git2::Repository::open(&repo.root).unwrap_or_else(|e| panic!("{e}"));
        let signature = git2::Signature::now("Tool", "tool@example.com").unwrap_or_else(|e| panic!("{e}"));
        let parent = git
            .head()
            .and_then(|h| h.peel_to_commit())
            .unwrap_or_else(|e| panic!("{e}"));
        let tree = parent.tree().unwrap_or_else(|e| panic!("{e}"));
        let oid = git
            .commit(Some("HEAD"), &signature, &signature, "from a GUI", &tree, &[&parent])
            .unwrap_or_else(|e| panic!("{e}"));
        oid.to_string()
    };
    let (commit, branch, _, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, branch, kind),
        (sha, Some("main".into()), HeadChange::NewCommit)
    );
    quiet(&mut rx).await;
}

#[tokio::test]
async fn paused_then_resumed_delivers_the_moved_head_once() {
    let repo = Repo::new();
    let before = repo.head();
    let (watcher, mut rx) = repo.watch(true);
    watcher.set_paused(true);
    repo.commit("a.txt", "while paused 1");
    let last = repo.commit("b.txt", "while paused 2");
    repo.write("src/main.py", "print('paused')\n");
    quiet(&mut rx).await;
    watcher.set_paused(false);
    let (commit, _, previous, kind) = next_head(&mut rx).await;
    assert_eq!((commit, previous, kind), (last, Some(before), HeadChange::NewCommit));
    quiet(&mut rx).await;
    // Delivery goes on after the pause.
    repo.write("src/main.py", "print('resumed')\n");
    assert_eq!(next_saved(&mut rx).await, vec!["src/main.py"]);
}

#[tokio::test]
async fn with_save_off_saves_are_silent_but_commits_and_the_config_are_not() {
    let repo = Repo::new();
    let (watcher, mut rx) = repo.watch(false);
    assert_eq!(watcher.watched_dirs(), 1, "only the app dir itself, for release.toml");
    repo.write("src/main.py", "print('unsaved')\n");
    repo.write("new.txt", "new");
    quiet(&mut rx).await;
    repo.write("release.toml", "[app]\nname = \"renamed\"\n");
    assert_eq!(next(&mut rx).await, Trigger::ConfigChanged);
    let sha = repo.commit("src/main.py", "commit while not saving");
    assert_eq!(next_head(&mut rx).await.0, sha);
    quiet(&mut rx).await;

    watcher.set_save(true);
    // Turning saves on walks the tree in the background: saves count once its watches are in place.
    let ready = tokio::time::Instant::now() + WAIT;
    while watcher.watched_dirs() != 2 && tokio::time::Instant::now() < ready {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(watcher.watched_dirs(), 2, "the app dir and src/");
    repo.write("src/main.py", "print('saving now')\n");
    assert_eq!(next_saved(&mut rx).await, vec!["src/main.py"]);
    watcher.set_save(false);
    repo.write("src/main.py", "print('off again')\n");
    quiet(&mut rx).await;
    assert_eq!(watcher.watched_dirs(), 1);
}

#[tokio::test]
async fn a_linked_worktree_watches_its_own_head() {
    let repo = Repo::new();
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let linked = outside
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("{e}"))
        .join("linked");
    repo.git(&["worktree", "add", "-q", "-b", "wt", &linked.to_string_lossy()]);
    let options = WatchOptions {
        repo_root: linked.clone(),
        app_dir: linked.clone(),
        ..repo.options(false)
    };
    let (_watcher, mut rx) = start(options, Tuning::default());
    // A commit in the main worktree moves main, not this worktree's HEAD.
    repo.commit("main-only.txt", "on main");
    quiet(&mut rx).await;
    let worktree = Repo {
        _dir: outside,
        root: linked,
    };
    let sha = worktree.commit("wt.txt", "in the worktree");
    let (commit, branch, _, kind) = next_head(&mut rx).await;
    assert_eq!((commit, branch, kind), (sha, Some("wt".into()), HeadChange::NewCommit));
    quiet(&mut rx).await;
}

#[tokio::test]
async fn the_first_commit_of_a_new_repository() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
    let repo = Repo { _dir: dir, root };
    repo.git(&["init", "-q", "-b", "trunk"]);
    let (_watcher, mut rx) = repo.watch(false);
    let sha = repo.commit("first.txt", "first");
    let (commit, branch, previous, kind) = next_head(&mut rx).await;
    assert_eq!(
        (commit, branch, previous, kind),
        (sha, Some("trunk".into()), None, HeadChange::NewCommit)
    );
    // logs/ appeared with that commit and is watched from then on.
    let sha = repo.commit("second.txt", "second");
    assert_eq!(next_head(&mut rx).await.0, sha);
    quiet(&mut rx).await;
}
