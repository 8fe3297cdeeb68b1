//! `[notify.NAME]`: where shipdeck sends news of runs and releases. One channel per table
//! (`webhook`, `slack` or `email`), the events it hears about (`on`) and an optional filter on
//! environments. Secrets (the webhook's signing key, the SMTP password) are named, never
//! written here; URLs are masked in everything shipdeck shows (see `notifications`).

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::environments::ParsedEnvironment;
use crate::config::hint::{did_you_mean, one_of};
use crate::config::model::{EmailConfig, NotifyChannel, NotifyConfig, NotifyEvent, SecretConfig};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::is_valid_unit_name;

const NOTIFY_KEYS: &[&str] = &["webhook", "slack", "email", "on", "environments"];
const CHANNEL_KEYS: &[&str] = &["webhook", "slack", "email"];
const WEBHOOK_KEYS: &[&str] = &["url", "secret"];
const EMAIL_KEYS: &[&str] = &["smtp", "from", "to", "user", "password"];

/// Reads every `[notify.NAME]`; `secrets` and `envs` are what names must refer to.
pub(crate) fn read_notify(
    sink: &mut Sink<'_>,
    root: &Table<'_, '_>,
    secrets: &[SecretConfig],
    envs: &[ParsedEnvironment],
) -> Vec<NotifyConfig> {
    let Some(all) = root.table(sink, "notify", "[notify]".into()) else {
        return Vec::new();
    };
    let known = Names { secrets, envs };
    let mut out = Vec::new();
    for (key, value) in &all.entries {
        let name = key.get_ref().to_string();
        if !is_valid_unit_name(&name) || name.len() > 40 {
            sink.error(
                key.span().start,
                format!("invalid name `{name}` in [notify]: expected up to 40 letters, digits, `-`, `_` or `.`, starting with a letter or digit"),
                None,
            );
            continue;
        }
        let DeValue::Table(t) = value.get_ref() else {
            let hint = "write [notify.NAME] with webhook, slack or email, and `on`".to_string();
            all.wrong_type_hint(sink, &name, value, "a table", Some(hint));
            continue;
        };
        let t = Table::new(format!("[notify.{}]", toml_key(&name)), value.span(), t);
        out.extend(read_one(sink, &name, &t, &known));
    }
    out
}

/// What names in a notify table may refer to.
struct Names<'a> {
    secrets: &'a [SecretConfig],
    envs: &'a [ParsedEnvironment],
}

impl Names<'_> {
    /// Reports `name` (at `at`, for `key`) unless `[secrets]` defines it.
    fn check_secret(&self, sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, name: &str, at: usize) -> bool {
        if self.secrets.iter().any(|s| s.name == name) {
            return true;
        }
        let hint = did_you_mean(name, self.secrets.iter().map(|s| s.name.as_str())).or_else(|| {
            Some(format!(
                "`{key}` names a [secrets] entry: add [secrets] {name} = {{ env = \"HOST_VARIABLE\" }}"
            ))
        });
        t.invalid(
            sink,
            at,
            key,
            &format!("secret `{name}` is not defined in [secrets]"),
            hint,
        );
        false
    }
}

fn read_one(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>, known: &Names<'_>) -> Option<NotifyConfig> {
    let before = sink.len();
    let guessed = t.check_keys(sink, NOTIFY_KEYS);
    let mut present: Vec<&str> = CHANNEL_KEYS.iter().copied().filter(|k| t.has(k)).collect();
    present.sort_by_key(|k| t.key_at(k));
    let channel = match present.as_slice() {
        [] => {
            if !guessed.iter().any(|g| CHANNEL_KEYS.contains(g)) {
                sink.error(
                    t.at(),
                    format!("missing channel in {}: expected `webhook`, `slack` or `email`", t.label),
                    Some("e.g. slack = \"https://hooks.slack.com/services/…\"".into()),
                );
            }
            None
        }
        [one] => match *one {
            "webhook" => read_webhook(sink, t, known),
            "slack" => http_url(sink, t, "slack", t.get("slack")?).map(|url| NotifyChannel::Slack { url }),
            _ => read_email(sink, t, known),
        },
        [_, second, ..] => {
            sink.error(
                t.key_at(second),
                format!(
                    "{} has more than one channel ({}): one per table",
                    t.label,
                    crate::text::quoted_list(&present, "and")
                ),
                Some(format!(
                    "move `{second}` to a [notify.{name}-{second}] table of its own"
                )),
            );
            None
        }
    };
    let on = read_on(sink, t);
    let environments = read_environments(sink, t, known);
    let channel = channel?;
    (sink.len() == before).then(|| NotifyConfig {
        name: name.to_string(),
        channel,
        on: on.unwrap_or_else(|| NotifyEvent::ALL.to_vec()),
        environments,
    })
}

/// `url` of a webhook or `slack`: an `http://` or `https://` URL with a host.
fn http_url(
    sink: &mut Sink<'_>,
    t: &Table<'_, '_>,
    key: &str,
    value: &crate::config::reader::Value<'_>,
) -> Option<String> {
    let DeValue::String(s) = value.get_ref() else {
        t.wrong_type(sink, key, value, "a URL string");
        return None;
    };
    let problem = match url::Url::parse(s.trim()) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!(
            "expected an http:// or https:// URL, found scheme `{}`",
            u.scheme()
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("the URL has no host".to_string()),
        Ok(_) => None,
        // Never quote the value: it is a secret (a Slack URL is its own credential).
        Err(e) => Some(format!("expected an http:// or https:// URL ({e})")),
    };
    match problem {
        Some(p) => {
            t.invalid(sink, value.span().start, key, &p, None);
            None
        }
        None => Some(s.trim().to_string()),
    }
}

fn read_webhook(sink: &mut Sink<'_>, t: &Table<'_, '_>, known: &Names<'_>) -> Option<NotifyChannel> {
    let value = t.get("webhook")?;
    let example = "webhook = { url = \"https://…\", secret = \"HOOK_KEY\" }";
    let w = match value.get_ref() {
        DeValue::Table(w) => Table::new(format!("`webhook` of {}", t.label), value.span(), w),
        DeValue::String(_) => {
            let hint = format!("write {example}; `secret` (optional) names the [secrets] entry that signs the body");
            t.wrong_type_hint(sink, "webhook", value, "a table", Some(hint));
            return None;
        }
        _ => {
            t.wrong_type_hint(sink, "webhook", value, "a table", Some(format!("write {example}")));
            return None;
        }
    };
    let before = sink.len();
    let guessed = w.check_keys(sink, WEBHOOK_KEYS);
    let url = match w.get("url") {
        Some(v) => http_url(sink, &w, "url", v),
        None => {
            if !guessed.contains(&"url") {
                sink.error(
                    w.at(),
                    format!("missing `url` in {}", w.label),
                    Some(format!("write {example}")),
                );
            }
            None
        }
    };
    let secret = w.non_empty_str(sink, "secret");
    if let Some(s) = &secret {
        known.check_secret(sink, &w, "secret", s.get_ref(), s.span().start);
    }
    let url = url?;
    (sink.len() == before).then(|| NotifyChannel::Webhook {
        url,
        secret: secret.map(|s| s.into_inner()),
    })
}

fn read_email(sink: &mut Sink<'_>, t: &Table<'_, '_>, known: &Names<'_>) -> Option<NotifyChannel> {
    let value = t.get("email")?;
    let example = "email = { smtp = \"smtp://mail.example.com:587\", from = \"shipdeck@example.com\", to = [\"team@example.com\"], user = \"shipdeck\", password = \"SMTP_PASSWORD\" }";
    let DeValue::Table(e) = value.get_ref() else {
        t.wrong_type_hint(sink, "email", value, "a table", Some(format!("write {example}")));
        return None;
    };
    let e = Table::new(format!("`email` of {}", t.label), value.span(), e);
    let before = sink.len();
    let guessed = e.check_keys(sink, EMAIL_KEYS);
    for key in ["smtp", "from", "to"] {
        if !e.has(key) && !guessed.contains(&key) {
            sink.error(
                e.at(),
                format!("missing `{key}` in {}", e.label),
                Some(format!("write {example}")),
            );
        }
    }
    let smtp = e.non_empty_str(sink, "smtp");
    if let Some(smtp) = &smtp {
        if let Err(problem) = check_smtp_url(smtp.get_ref()) {
            e.invalid(
                sink,
                smtp.span().start,
                "smtp",
                &problem,
                Some("e.g. smtp = \"smtp://mail.example.com:587\"".into()),
            );
        }
    }
    let from = e.non_empty_str(sink, "from");
    let to = e.str_list(sink, "to");
    for address in from.iter().chain(to.iter().flatten()) {
        if let Err(why) = address.get_ref().parse::<lettre::message::Mailbox>() {
            let key = if from.as_ref().is_some_and(|f| f.span() == address.span()) {
                "from"
            } else {
                "to"
            };
            let message = format!("expected an email address, found \"{}\" ({why})", address.get_ref());
            e.invalid(sink, address.span().start, key, &message, None);
        }
    }
    if to.as_ref().is_some_and(Vec::is_empty) {
        let at = e.get("to").map_or(e.at(), |v| v.span().start);
        e.invalid(sink, at, "to", "expected at least one address", None);
    }
    let user = e.non_empty_str(sink, "user");
    let password = e.non_empty_str(sink, "password");
    if let Some(p) = &password {
        known.check_secret(sink, &e, "password", p.get_ref(), p.span().start);
    }
    match (&user, &password) {
        (Some(_), None) if !e.has("password") => sink.error(
            e.key_at("user"),
            format!("`user` without `password` in {}", e.label),
            Some("add password = \"SECRET_NAME\": the name of the [secrets] entry holding it".into()),
        ),
        (None, Some(_)) if !e.has("user") => sink.error(
            e.key_at("password"),
            format!("`password` without `user` in {}", e.label),
            Some("add user = \"…\": the name shipdeck logs in to the SMTP server with".into()),
        ),
        _ => {}
    }
    let (smtp, from, to) = (smtp?, from?, to?);
    (sink.len() == before).then(|| {
        NotifyChannel::Email(EmailConfig {
            smtp: smtp.into_inner(),
            from: from.into_inner(),
            to: to.into_iter().map(|s| s.into_inner()).collect(),
            user: user.map(|u| u.into_inner()),
            password: password.map(|p| p.into_inner()),
        })
    })
}

/// `smtp://host[:port]` or `smtps://host[:port]`, nothing else (credentials go in `user`
/// and `password`, so that the URL never carries one).
pub(crate) fn check_smtp_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("expected a URL like smtp://host:587 ({e})"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err(format!(
            "expected smtp:// (STARTTLS when offered) or smtps:// (TLS), found scheme `{}`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials go in `user` and `password` (a [secrets] name), not in the URL".into());
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err("expected only a host and a port".into());
    }
    Ok(())
}

/// `on = [...]`: known event names, with the closest one as hint.
fn read_on(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<Vec<NotifyEvent>> {
    let names = t.str_list(sink, "on")?;
    let valid: Vec<&str> = NotifyEvent::ALL.iter().map(|e| e.as_str()).collect();
    let mut out = Vec::new();
    for name in &names {
        match NotifyEvent::parse(name.get_ref()) {
            Some(e) if !out.contains(&e) => out.push(e),
            Some(_) => {}
            None => {
                let hint = crate::text::closest(name.get_ref(), valid.iter().copied())
                    .map(|c| format!("did you mean \"{c}\"?"))
                    .or_else(|| Some(format!("events: {}", one_of(&valid))));
                let message = format!("unknown event \"{}\"", name.get_ref());
                t.invalid(sink, name.span().start, "on", &message, hint);
            }
        }
    }
    Some(out)
}

/// `environments = [...]`: names of environments of this file.
fn read_environments(sink: &mut Sink<'_>, t: &Table<'_, '_>, known: &Names<'_>) -> Option<Vec<String>> {
    let names = t.str_list(sink, "environments")?;
    let defined: Vec<&str> = known.envs.iter().map(|e| e.name.as_str()).collect();
    for name in names.iter().filter(|n| !defined.contains(&n.get_ref().as_str())) {
        let hint = crate::text::closest(name.get_ref(), defined.iter().copied())
            .map(|c| format!("did you mean \"{c}\"?"))
            .or_else(|| Some(format!("environments of this file: {}", one_of(&defined))));
        let message = format!("unknown environment \"{}\"", name.get_ref());
        t.invalid(sink, name.span().start, "environments", &message, hint);
    }
    Some(names.into_iter().map(|n| n.into_inner()).collect())
}
