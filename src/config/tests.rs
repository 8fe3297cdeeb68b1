//! Behaviour of `parse` as a whole (the fixtures cover the exact messages).

use std::time::Duration;

use crate::config::{parse, Config, ConfigError, JsonScalar, OnBusy, StageKind, WatchOn};

fn ok(text: &str) -> Config {
    parse(text, "release.toml", None).unwrap_or_else(|e| panic!("should parse:\n{e}"))
}

fn err(text: &str) -> ConfigError {
    match parse(text, "release.toml", None) {
        Ok(_) => panic!("should fail:\n{text}"),
        Err(e) => e,
    }
}

const HEAD: &str = "[app]\nname = \"x\"\n";

#[test]
fn minimal_config_gets_defaults() {
    let cfg = ok(&format!("{HEAD}[stages.t]\nimage = \"a\"\nrun = \"make test\"\n"));
    assert_eq!(cfg.watch.on, WatchOn::Commit);
    assert_eq!(cfg.watch.on_busy, OnBusy::Supersede);
    assert_eq!(cfg.watch.debounce_ms, 300);
    let stage = cfg.stage("t").expect("stage t");
    assert_eq!(
        stage.run_stage().map(|r| r.run.clone()),
        Some(vec!["make test".to_string()])
    );
    assert_eq!(stage.timeout, None);
    assert!(!stage.on_save && cfg.environments.is_empty() && cfg.secrets.is_empty());
    assert!(cfg.environment("staging").is_none() && cfg.stage("nope").is_none());
}

#[test]
fn without_app_dir_dockerfiles_are_not_looked_up() {
    let cfg = ok(&format!("{HEAD}[stages.p]\ndockerfile = \"Dockerfile\"\n"));
    match &cfg.stages[0].kind {
        StageKind::Package(p) => assert_eq!((p.dockerfile.as_str(), p.context.as_str()), ("Dockerfile", ".")),
        other => panic!("expected a package stage, got {other:?}"),
    }
}

#[test]
fn diagnostics_from_every_section_come_sorted_by_position() {
    let text = "[secrets]\nX = \"y\"\n[app]\nnme = \"x\"\n[stages.t]\nimage = \"a\"\nrun = [\"b\"]\ntimeout = 5\n";
    let e = err(text);
    let lines: Vec<usize> = e.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![2, 4, 8], "{e}");
}

#[test]
fn positions_are_right_with_crlf_and_unicode() {
    let text = "# héllo wörld\r\n[app]\r\nname = \"x\"\r\n[stages.t]\r\nimage = \"ä\"\r\nrun = [\"b\"]\r\nnetwork = \"host\"\r\n";
    let e = err(text);
    assert_eq!((e.diagnostics[0].line, e.diagnostics[0].col), (7, 11), "{e}");
}

#[test]
fn syntax_errors_stop_before_semantic_checks() {
    let e = err("[app\nname = 1\n");
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    assert_eq!(e.diagnostics[0].line, 1);
    assert!(e.diagnostics[0].message.starts_with("invalid TOML: "), "{e}");
}

#[test]
fn needing_a_broken_stage_is_not_reported_as_undefined() {
    let text = format!(
        "{HEAD}[stages.a]\nimage = 1\nrun = [\"x\"]\n[stages.b]\nneeds = [\"a\"]\nimage = \"i\"\nrun = [\"x\"]\n"
    );
    let e = err(&text);
    assert_eq!(e.diagnostics.len(), 1, "{e}");
}

#[test]
fn only_one_stage_may_build_the_release_image() {
    let text = format!("{HEAD}[stages.p]\ndockerfile = \"A\"\n[stages.q]\ndockerfile = \"B\"\n");
    let e = err(&text);
    assert_eq!(e.to_string(), "release.toml:5:1: more than one stage builds an image: `p` and `q`\n  hint: the stage with `dockerfile` builds the release image; keep one");
}

#[test]
fn needs_are_deduplicated_only_in_error_and_order_is_topological() {
    let text = format!("{HEAD}[stages.c]\nneeds = [\"b\", \"a\"]\nimage = \"i\"\nrun = \"x\"\n[stages.b]\nneeds = \"a\"\nimage = \"i\"\nrun = \"x\"\n[stages.a]\nimage = \"i\"\nrun = \"x\"\n");
    let cfg = ok(&text);
    let order: Vec<&str> = cfg.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(
        cfg.stage("c").map(|s| s.needs.clone()),
        Some(vec!["b".to_string(), "a".to_string()])
    );
}

#[test]
fn environments_keep_file_order_and_read_smoke_details() {
    let text = format!(
        "{HEAD}[stages.p]\ndockerfile = \"D\"\n\
         [environments.zeta]\npublish = \"18080:8080\"\n\
         [[environments.zeta.smoke]]\nhttp = \"HEAD /\"\nexpect_json = {{ \"/n\" = 1.5, \"\" = \"{{url}}\" }}\nwithin = \"2s\"\n\
         [environments.alpha]\npromote_from = \"zeta\"\napproval = true\n"
    );
    let cfg = ok(&text);
    let names: Vec<&str> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    let check = &cfg.environments[0].smoke[0];
    assert_eq!(check.http_request(), Some(("HEAD", "/")));
    assert_eq!(check.within, Some(Duration::from_secs(2)));
    let json = check.expect_json.as_ref().expect("expect_json");
    assert_eq!(json[0].value, JsonScalar::Float(1.5));
    assert_eq!(
        (json[1].pointer.as_str(), &json[1].value),
        ("", &JsonScalar::String("{url}".into()))
    );
}

#[test]
fn describe_never_shows_secret_values_only_their_source() {
    let cfg = ok(&format!(
        "{HEAD}[stages.t]\nimage = \"a\"\nrun = \"b\"\n[secrets]\nTOKEN = {{ env = \"HOST_TOKEN\" }}\n"
    ));
    let text = cfg.describe();
    assert!(text.contains("TOKEN") && text.contains("from $HOST_TOKEN"), "{text}");
}

#[test]
fn an_accessory_names_secrets_the_environment_has() {
    let base = "[app]\nname = \"a\"\n[stages.p]\ndockerfile = \"Dockerfile\"\n[secrets]\nAPI = { env = \"HOST_API\" }\n[environments.staging]\n[environments.staging.secrets]\nDB_PASSWORD = { env = \"STAGING_DB\" }\n[environments.staging.accessories.db]\nimage = \"postgres:15\"\n";
    let ok = parse(
        &format!("{base}secrets = [\"DB_PASSWORD\", \"API\"]\n"),
        "release.toml",
        None,
    )
    .unwrap();
    let acc = &ok.environment("staging").unwrap().accessories[0];
    assert_eq!(acc.secrets, vec!["DB_PASSWORD".to_string(), "API".to_string()]);
    assert_eq!(acc.service.name, "db");
    let err = parse(&format!("{base}secrets = [\"DB_PASSWROD\"]\n"), "release.toml", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no secret `DB_PASSWROD` is defined for this environment"),
        "{err}"
    );
    assert!(err.contains("DB_PASSWORD"), "the hint names the closest: {err}");
    assert!(err.contains("release.toml:12:12:"), "{err}");
}

#[test]
fn an_accessory_takes_a_services_keys_with_the_same_reader() {
    let text = "[app]\nname = \"a\"\n[stages.p]\ndockerfile = \"Dockerfile\"\n[environments.staging.accessories.db]\nimage = \"postgres:15\"\ncommand = \"postgres -c fsync=off\"\nready_timeout = \"5s\"\nvolumes = [\"/data\"]\nreadyy = \"x\"\n";
    let err = parse(text, "release.toml", None).unwrap_err().to_string();
    assert!(err.contains("unknown key `readyy`") && err.contains("ready"), "{err}");
    let ok = parse(&text.replace("readyy = \"x\"\n", ""), "release.toml", None).unwrap();
    let acc = &ok.environment("staging").unwrap().accessories[0];
    assert_eq!(acc.service.ready_timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        acc.service.command.as_deref(),
        Some(&["sh".to_string(), "-c".to_string(), "postgres -c fsync=off".to_string()][..])
    );
    assert_eq!(acc.volumes, vec!["/data".to_string()]);
}
