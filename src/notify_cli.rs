//! `shipdeck notify test NAME`: one test message on one channel, now, and what happened.

use shipdeck::cli::{NotifyArgs, NotifyCommand};
use shipdeck::config::{NotifyChannel, NotifyEvent};
use shipdeck::exit::ExitCode;
use shipdeck::mask::SecretMasker;
use shipdeck::notifications::{self, Notification};
use shipdeck::source::Project;
use shipdeck::store::{NewNotification, Store};

use super::{load_config, Failure};

pub async fn notify(project: &Project, args: &NotifyArgs) -> Result<ExitCode, Failure> {
    let NotifyCommand::Test { name } = &args.command;
    let config = load_config(project)?;
    let Some(channel) = config.notify.iter().find(|c| &c.name == name) else {
        let names: Vec<&str> = config.notify.iter().map(|c| c.name.as_str()).collect();
        let known = if names.is_empty() {
            "release.toml has no [notify.NAME] channel".to_string()
        } else {
            format!("channels: {}", shipdeck::text::quoted_list(&names, "and"))
        };
        let hint = shipdeck::text::closest(name, names.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        return Err(Failure::usage(format!(
            "shipdeck: unknown notification channel `{name}` ({known}){hint}"
        )));
    };
    // What is printed never shows the channel's URL or a secret's value.
    let mut secrets: Vec<String> = notifications::secret_values(&config)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    if let NotifyChannel::Webhook { url, .. } | NotifyChannel::Slack { url } = &channel.channel {
        secrets.push(url.clone());
    }
    let masker = SecretMasker::new(
        secrets
            .iter()
            .filter(|s| s.chars().count() >= shipdeck::mask::MIN_SECRET_LEN),
    );
    let notification = Notification {
        event: *channel.on.first().unwrap_or(&NotifyEvent::Deployed),
        app: config.app.name.clone(),
        environment: channel.environments.as_ref().and_then(|e| e.first().cloned()),
        title: format!("{}: test message from shipdeck to [notify.{name}]", config.app.name),
        text: "If you read this, shipdeck can reach this channel.".into(),
        run: None,
        commit: None,
        branch: None,
        by: Some(shipdeck::deploy::Operator::current(&project.repo_root).display()),
        at: chrono::Utc::now(),
        test: true,
    };
    let kind = channel.channel.kind();
    let attempt = tokio::time::timeout(
        notifications::outbox::ATTEMPT_TIMEOUT,
        notifications::deliver_once(channel, &config, &notification),
    )
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "no answer within {}s",
            notifications::outbox::ATTEMPT_TIMEOUT.as_secs()
        ))
    });
    let (status, line, code) = match attempt {
        Ok(answer) => (
            "sent",
            format!("{kind} sent a test message ({answer})"),
            ExitCode::Success,
        ),
        Err(why) => ("failed", format!("{kind} failed: {why}"), ExitCode::Failed),
    };
    let line = masker.mask(shipdeck::term::plain_text(&line).into_owned());
    println!("notify {name}: {line}");
    // The history keeps tests too; a history that cannot be written does not change the answer.
    if let Ok(mut store) = Store::open(&project.state_dir()) {
        let record = NewNotification {
            channel: name,
            kind,
            event: "test",
            env: None,
            status,
            attempt: 1,
            message: &line,
        };
        if let Err(e) = store.record_notification(&record, chrono::Utc::now()) {
            eprintln!("warning: the test was not recorded: {e}");
        }
    }
    Ok(code)
}
