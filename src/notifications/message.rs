//! One notification and its three wire forms: the generic webhook's JSON, Slack's incoming
//! webhook JSON, and an email's subject and body. Every text in it comes from events the
//! recorder already masked and sanitized.

use serde::Serialize;

use super::At;
use crate::config::NotifyEvent;

/// Something a channel may hear about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub event: NotifyEvent,
    pub app: String,
    /// The environment it happened on; `None` for runs.
    pub environment: Option<String>,
    /// One line: "hello-py: deployed a1b2c3d to production".
    pub title: String,
    /// What happened, in words (the operation's or run's message).
    pub text: String,
    pub run: Option<crate::store::RunNumber>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// Who did it, when someone did.
    pub by: Option<String>,
    pub at: At,
    /// Sent by `shipdeck notify test`.
    pub test: bool,
}

/// The generic webhook's body.
#[derive(Serialize)]
struct WebhookBody<'a> {
    channel: &'a str,
    #[serde(flatten)]
    notification: &'a Notification,
}

impl Notification {
    /// The JSON POSTed to a generic webhook: every field, plus the channel's name.
    pub fn webhook_body(&self, channel: &str) -> Vec<u8> {
        serde_json::to_vec(&WebhookBody {
            channel,
            notification: self,
        })
        .unwrap_or_default()
    }

    /// Slack's incoming-webhook JSON: `text` (mrkdwn), with `<`, `>` and `&` escaped as Slack
    /// asks, so that no text from a commit or a log can mention `@channel` or forge a link.
    pub fn slack_body(&self) -> Vec<u8> {
        let mut text = format!("*{}*", slack_escape(&self.title));
        if !self.text.is_empty() {
            text.push('\n');
            text.push_str(&slack_escape(&self.text));
        }
        serde_json::to_vec(&serde_json::json!({ "text": text })).unwrap_or_default()
    }

    /// An email's subject: the title on one line.
    pub fn subject(&self) -> String {
        one_line(&format!("[shipdeck] {}", self.title))
    }

    /// An email's plain-text body.
    pub fn email_body(&self) -> String {
        let mut body = format!("{}\n\n{}\n\n", self.title, self.text);
        let fields = [
            ("event", Some(self.event.as_str().to_string())),
            ("app", Some(self.app.clone())),
            ("environment", self.environment.clone()),
            ("run", self.run.map(|r| format!("#{r}"))),
            ("commit", self.commit.clone()),
            ("branch", self.branch.clone()),
            ("by", self.by.clone()),
            ("at", Some(self.at.to_rfc3339())),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                body.push_str(&format!("{name}: {}\n", one_line(&value)));
            }
        }
        body
    }
}

/// Slack's three escapes (api.slack.com: "Escaping text").
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Line breaks and other controls as spaces: a header stays one header.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notification {
        Notification {
            event: NotifyEvent::Deployed,
            app: "hello".into(),
            environment: Some("staging".into()),
            title: "hello: deployed <!channel> & co\r\nBcc: x@y".into(),
            text: "ok <http://evil|click>".into(),
            run: Some(3),
            commit: Some("abc".into()),
            branch: None,
            by: None,
            at: chrono::Utc::now(),
            test: false,
        }
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let body: serde_json::Value = serde_json::from_slice(&sample().slack_body()).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt; &amp; co"), "{text}");
    }

    #[test]
    fn subject_is_one_line() {
        let subject = sample().subject();
        assert!(!subject.contains('\n') && !subject.contains('\r'), "{subject}");
    }

    #[test]
    fn webhook_body_names_event_and_channel() {
        let body: serde_json::Value = serde_json::from_slice(&sample().webhook_body("team")).unwrap();
        assert_eq!(body["event"], "deployed");
        assert_eq!(body["channel"], "team");
        assert_eq!(body["environment"], "staging");
        assert_eq!(body["run"], 3);
    }
}
