//! Queries answer explicitly: asked on `EngineHandle::queries`, each gets exactly its own
//! answer (never another query's, never events that happen to be on the stream); sent as a
//! command, the same answer arrives on the event stream for the console to fold. Against the
//! real engine: the environments are read from it (nothing is deployed, nothing is created).

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use shipdeck::engine::{self, AskError, Command, Engine, EngineHandle, Event, NoticeLevel};
use shipdeck::source::Project;
use shipdeck::store::Store;

/// hello-py: `staging`, and `production` fed by promotion from it.
const FIXTURE: &str = "hello-py";

async fn engine_for(app: &TestApp) -> EngineHandle {
    require_docker(&[]);
    let project = Project::discover(app.path()).unwrap();
    let config = shipdeck::config::load(&project.config_path()).unwrap();
    let store = Store::open(&project.state_dir()).unwrap();
    let docker = shipdeck::docker::connect()
        .await
        .expect("a Docker engine must answer for this test");
    Engine::new(engine::DockerLink::fixed(docker), project, Some(config)).start(store)
}

/// Hangs up and returns every event the stream still carried.
async fn hang_up(handle: EngineHandle) -> Vec<Event> {
    let EngineHandle {
        commands, mut events, ..
    } = handle;
    drop(commands);
    let mut out = Vec::new();
    while let Some(event) = events.recv().await {
        out.push(event);
    }
    out
}

fn statuses(events: &[Event]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EnvironmentStatus { env, error, .. } => Some((env.clone(), error.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn load_environments_answers_one_status_per_environment_to_the_asker_alone() {
    let app = TestApp::from_fixture(FIXTURE);
    let handle = engine_for(&app).await;
    let reply = handle.ask(Command::LoadEnvironments).await.unwrap();
    // Each status is followed by the environment's parts: its proxy (strategy `proxy`).
    assert_eq!(reply.len(), 4, "{reply:?}");
    for parts in [&reply[1], &reply[3]] {
        assert!(
            matches!(parts, Event::EnvironmentParts { proxy: Some(p), .. } if p.state == "missing"),
            "{reply:?}"
        );
    }
    assert_eq!(
        statuses(&reply),
        vec![("staging".to_string(), None), ("production".to_string(), None)]
    );
    let stream = hang_up(handle).await;
    assert!(
        statuses(&stream).is_empty(),
        "the answer leaked onto the stream: {stream:?}"
    );
}

#[tokio::test]
async fn a_query_sent_as_a_command_answers_on_the_stream() {
    let app = TestApp::from_fixture(FIXTURE);
    let handle = engine_for(&app).await;
    handle.commands.send(Command::LoadEnvironments).unwrap();
    let mut handle = handle;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match handle.events.recv().await {
            Some(Event::EnvironmentStatus { env, .. }) => seen.push(env),
            Some(_) => {}
            None => panic!("the engine stopped before answering on the stream"),
        }
    }
    assert_eq!(seen, ["staging", "production"]);
    hang_up(handle).await;
}

#[tokio::test]
async fn unlock_answers_what_it_did_then_the_status() {
    let app = TestApp::from_fixture(FIXTURE);
    let handle = engine_for(&app).await;
    let reply = handle
        .ask(Command::Unlock {
            env: "staging".into(),
            force: false,
        })
        .await
        .unwrap();
    match reply.as_slice() {
        [Event::Notice { level, message }, Event::EnvironmentStatus { env, error, .. }] => {
            assert_eq!(*level, NoticeLevel::Info);
            assert_eq!(message, "staging was not locked");
            assert_eq!((env.as_str(), error), ("staging", &None));
        }
        other => panic!("unexpected answer: {other:?}"),
    }
    // A misspelt environment: the one unknown-environment message, as an error notice.
    let reply = handle
        .ask(Command::Unlock {
            env: "stagin".into(),
            force: false,
        })
        .await
        .unwrap();
    let said = "no environment `stagin` in release.toml: did you mean `staging`? defined: staging, production";
    match reply.as_slice() {
        [Event::Notice { level, message }, Event::EnvironmentStatus { env, error, .. }] => {
            assert_eq!((*level, message.as_str()), (NoticeLevel::Error, said));
            assert_eq!((env.as_str(), error.as_deref()), ("stagin", Some(said)));
        }
        other => panic!("unexpected answer: {other:?}"),
    }
    hang_up(handle).await;
}

/// Several queries in flight at once: each asker gets its own answer, whatever order the
/// engine finishes them in.
#[tokio::test]
async fn queries_in_flight_together_each_get_their_own_answer() {
    let app = TestApp::from_fixture(FIXTURE);
    let handle = engine_for(&app).await;
    let asks: Vec<_> = (0..8)
        .map(|i| {
            let command = match i % 4 {
                0 => Command::LoadEnvironments,
                1 => Command::Unlock {
                    env: "production".into(),
                    force: false,
                },
                2 => Command::LoadReleases { env: "staging".into() },
                _ => Command::PreviewPromotion {
                    env: "production".into(),
                },
            };
            (i % 4, handle.ask(command))
        })
        .collect();
    for (kind, ask) in asks {
        let reply = ask.await.unwrap();
        match (kind, reply.as_slice()) {
            (
                0,
                [Event::EnvironmentStatus { .. }, Event::EnvironmentParts { .. }, Event::EnvironmentStatus { .. }, Event::EnvironmentParts { .. }],
            ) => {}
            (1, [Event::Notice { .. }, Event::EnvironmentStatus { env, .. }]) if env == "production" => {}
            (2, [Event::ReleasesListed { env, releases, .. }]) if env == "staging" && releases.is_empty() => {}
            (3, [Event::PromotionPreview { env, source, .. }]) if env == "production" && source == "staging" => {}
            (kind, other) => panic!("query {kind} got {other:?}"),
        }
    }
    hang_up(handle).await;
}

#[tokio::test]
async fn only_queries_can_be_asked_and_a_stopped_engine_says_so() {
    let app = TestApp::from_fixture(FIXTURE);
    let handle = engine_for(&app).await;
    let run = handle.ask(Command::Run {
        rev: "HEAD".into(),
        trigger: "test".into(),
    });
    assert!(matches!(run.await, Err(AskError::NotAQuery(_))));
    let queries = handle.queries.clone();
    hang_up(handle).await;
    // The engine has stopped: an asker hears so instead of waiting forever.
    let (commands, _) = tokio::sync::mpsc::unbounded_channel();
    let (_, events) = tokio::sync::mpsc::channel(1);
    let stopped = EngineHandle {
        commands,
        events,
        queries,
    };
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stopped.ask(Command::LoadEnvironments),
    );
    assert!(matches!(answer.await, Ok(Err(AskError::EngineGone))));
}

/// The headless commands print exactly their query's answer, and every command names an
/// unknown environment with the one message (with the closest name).
#[test]
fn headless_status_and_unlock_print_their_answer_and_unknown_environments_read_alike() {
    require_docker(&[]);
    let app = TestApp::from_fixture(FIXTURE);
    let out = run(app.shipdeck().args(["unlock", "staging"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout, "staging was not locked\n");
    let out = run(app.shipdeck().args(["status", "--json"]));
    assert_eq!(out.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let envs: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["env"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["staging", "production"]);
    let said =
        "shipdeck: no environment `stagin` in release.toml: did you mean `staging`? defined: staging, production\n";
    for command in [
        &["unlock", "stagin"][..],
        &["deploy", "stagin"],
        &["smoke", "stagin"],
        &["history", "stagin"],
    ] {
        let out = run(app.shipdeck().args(command));
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), said, "{command:?}");
    }
}

/// An engine that needs no Docker engine: planning a commit only reads git.
fn planner_for(app: &TestApp) -> EngineHandle {
    let project = Project::discover(app.path()).unwrap();
    let config = shipdeck::config::load(&project.config_path()).ok();
    let store = Store::open(&project.state_dir()).unwrap();
    Engine::start_monitored(project, config, store)
}

async fn plan_of(
    handle: &EngineHandle,
    commit: &str,
) -> (String, Vec<(String, Vec<String>)>, engine::PlanSource, Option<String>) {
    let reply = handle
        .ask(Command::PlanCommit {
            commit: commit.to_string(),
        })
        .await
        .unwrap();
    let [Event::CommitPlanned {
        commit,
        stages,
        source,
        error,
    }] = reply.as_slice()
    else {
        panic!("{reply:?}")
    };
    let stages = stages.iter().map(|s| (s.name.clone(), s.needs.clone())).collect();
    (commit.clone(), stages, *source, error.clone())
}

/// Item 8 of #14: a commit that has not run shows its stages as planned — from the
/// release.toml committed with it, not the working copy's — and an invalid one its diagnostic.
#[tokio::test]
async fn a_commit_is_planned_from_its_own_committed_release_toml() {
    let app = TestApp::from_fixture(FIXTURE);
    let first = git(app.path(), &["rev-parse", "HEAD"]);
    // The next commit drops `build` and makes package need test directly.
    let toml = std::fs::read_to_string(app.path().join("release.toml")).unwrap();
    let changed = toml
        .replace(
            "[stages.build]\nneeds = [\"test\"]",
            "[stages.lint]\nneeds = [\"test\"]",
        )
        .replace("needs = [\"build\"]", "needs = [\"test\", \"lint\"]");
    app.write("release.toml", &changed);
    let second = app.commit_all("lint instead of build");
    // A third commit breaks it: a typo in a key, and a need that names no stage.
    let broken = changed.replace("needs = [\"test\", \"lint\"]", "neds = [\"test\"]");
    app.write("release.toml", &broken);
    let third = app.commit_all("typo");
    // The working copy differs from every commit: plans must not come from it.
    app.write("release.toml", &toml);
    let handle = planner_for(&app);

    let (id, stages, source, error) = plan_of(&handle, &first).await;
    assert_eq!(
        (id.as_str(), source, error),
        (first.as_str(), engine::PlanSource::Committed, None)
    );
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["test", "build", "package"]);
    assert_eq!(stages[2].1, ["build"]);

    let (_, stages, _, error) = plan_of(&handle, &second[..7]).await;
    assert_eq!(error, None);
    assert_eq!(
        stages,
        vec![
            ("test".to_string(), vec![]),
            ("lint".to_string(), vec!["test".to_string()]),
            ("package".to_string(), vec!["test".to_string(), "lint".to_string()]),
        ]
    );

    let (id, stages, source, error) = plan_of(&handle, &third).await;
    assert_eq!((id.as_str(), source), (third.as_str(), engine::PlanSource::Committed));
    assert!(stages.is_empty(), "{stages:?}");
    let error = error.expect("the diagnostic");
    assert!(error.contains("neds"), "{error}");
    assert!(error.contains(&format!("as committed in {}", &third[..7])), "{error}");
    // file:line:col of the typo.
    let line = broken.lines().position(|l| l.starts_with("neds")).unwrap() + 1;
    assert!(error.contains(&format!(":{line}:1")), "{error}");

    let (_, stages, source, error) = plan_of(&handle, "no-such-revision").await;
    assert_eq!(source, engine::PlanSource::Unreadable);
    assert!(stages.is_empty());
    assert!(error.is_some_and(|e| e.contains("no-such-revision")));
}

/// A commit without a committed release.toml is planned as a run of it would run: from the
/// working copy's, and says so.
#[tokio::test]
async fn a_commit_without_release_toml_is_planned_from_the_working_copy() {
    let app = TestApp::from_fixture(FIXTURE);
    git(app.path(), &["rm", "-q", "--cached", "release.toml"]);
    git(app.path(), &["commit", "-q", "-m", "untrack release.toml"]);
    let bare = git(app.path(), &["rev-parse", "HEAD"]);
    let handle = planner_for(&app);
    let (_, stages, source, error) = plan_of(&handle, &bare).await;
    assert_eq!((source, error), (engine::PlanSource::WorkingCopy, None));
    assert_eq!(stages.len(), 3);
}
