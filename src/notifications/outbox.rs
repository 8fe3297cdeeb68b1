//! The task that delivers notifications: each (notification, channel) pair is a delivery of
//! its own, retried with backoff, every attempt bounded in time, so that a slow or dead
//! channel holds up neither the others nor anything else shipdeck does. What happens is told
//! as [`Event::Notification`]s through the engine's sink (shown and recorded).
//!
//! When the engine shuts down (the recorder drops the tap, closing the queue) the deliveries
//! under way get [`DRAIN`] to finish, retries included (a one-shot `shipdeck deploy` ends as
//! soon as its release is out); what is still pending then is reported as failed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{email, http, sign, DeliveryStatus, Notification};
use crate::config::{Config, NotifyChannel, NotifyConfig};
use crate::engine::{Event, EventSink};

/// Attempts per delivery.
pub const ATTEMPTS: u32 = 3;
/// The wait before the second attempt; it doubles for each one after.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// How long one attempt (connect, TLS, request, answer) may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long deliveries under way may still take once shipdeck is exiting.
pub const DRAIN: Duration = Duration::from_secs(20);
/// After [`DRAIN`], how long the cut deliveries have to say so.
const LAST_WORDS: Duration = Duration::from_secs(2);
/// Notifications waiting to be delivered before new ones are dropped.
const QUEUE: usize = 256;

/// What the tap hands the outbox.
pub enum Job {
    Send(Box<Notification>),
    /// release.toml changed: the channels from now on.
    Configure(Arc<Config>),
}

/// A successful delivery: what the receiver answered ("HTTP 200", "SMTP 250").
pub type Delivered = String;

/// Starts the outbox for `config`'s channels; their URLs and secrets are masked from now on.
pub fn spawn(config: Arc<Config>, sink: EventSink) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(QUEUE);
    mask_channels(&config, &sink);
    tokio::spawn(run(rx, config, sink));
    tx
}

/// Adds every channel's URL and the values of the secrets they use to the masker.
fn mask_channels(config: &Config, sink: &EventSink) {
    let mut values = Vec::new();
    for channel in &config.notify {
        match &channel.channel {
            NotifyChannel::Webhook { url, .. } | NotifyChannel::Slack { url } => values.push(url.clone()),
            NotifyChannel::Email(_) => {}
        }
    }
    values.extend(secret_values(config).into_iter().map(|(_, v)| v));
    sink.add_secrets(values);
}

/// The values of `[secrets]` that the host has, by name (read when needed, never stored).
pub fn secret_values(config: &Config) -> Vec<(String, String)> {
    config
        .secrets
        .iter()
        .filter_map(|s| std::env::var(&s.env).ok().map(|v| (s.name.clone(), v)))
        .collect()
}

async fn run(mut rx: mpsc::Receiver<Job>, mut config: Arc<Config>, sink: EventSink) {
    let mut deliveries = JoinSet::new();
    let exiting = CancellationToken::new();
    loop {
        tokio::select! {
            job = rx.recv() => match job {
                None => break,
                Some(Job::Configure(new)) => {
                    mask_channels(&new, &sink);
                    config = new;
                }
                Some(Job::Send(notification)) => {
                    let notification = Arc::new(*notification);
                    let env = notification.environment.as_deref();
                    for channel in config.notify.iter().filter(|c| c.wants(notification.event, env)) {
                        let delivery = Delivery {
                            channel: channel.clone(),
                            config: config.clone(),
                            notification: notification.clone(),
                            sink: sink.clone(),
                        };
                        deliveries.spawn(delivery.run(exiting.clone()));
                    }
                }
            },
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
        }
    }
    // Exiting: what is under way may finish, retries included, within DRAIN; then it is cut,
    // and each cut delivery reports itself failed.
    let drained = tokio::time::timeout(DRAIN, async { while deliveries.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        exiting.cancel();
        let _ = tokio::time::timeout(LAST_WORDS, async { while deliveries.join_next().await.is_some() {} }).await;
        deliveries.abort_all();
    }
}

struct Delivery {
    channel: NotifyConfig,
    config: Arc<Config>,
    notification: Arc<Notification>,
    sink: EventSink,
}

impl Delivery {
    async fn run(self, exiting: CancellationToken) {
        let mut backoff = FIRST_BACKOFF;
        let kind = self.channel.channel.kind();
        for attempt in 1..=ATTEMPTS {
            let attempt_once = tokio::time::timeout(
                ATTEMPT_TIMEOUT,
                deliver_once(&self.channel, &self.config, &self.notification),
            );
            let result = tokio::select! {
                r = attempt_once => match r {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs())),
                },
                _ = exiting.cancelled() => {
                    let message = format!("{kind} failed: shipdeck exited before it was delivered");
                    self.report(DeliveryStatus::Failed, attempt, message).await;
                    return;
                }
            };
            let why = match result {
                Ok(answer) => {
                    let message = format!("{kind} sent {} ({answer})", self.notification.event.as_str());
                    self.report(DeliveryStatus::Sent, attempt, message).await;
                    return;
                }
                Err(why) => why,
            };
            if attempt == ATTEMPTS {
                let message = format!("{kind} failed: {why} (gave up after {ATTEMPTS} attempts)");
                self.report(DeliveryStatus::Failed, attempt, message).await;
                return;
            }
            let message = format!("{kind} failed: {why} (retrying in {}s)", backoff.as_secs());
            self.report(DeliveryStatus::Retrying, attempt, message).await;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = exiting.cancelled() => {
                    let message = format!("{kind} failed: {why} (not retried: shipdeck exited)");
                    self.report(DeliveryStatus::Failed, attempt, message).await;
                    return;
                }
            }
            backoff *= 2;
        }
    }

    async fn report(&self, status: DeliveryStatus, attempt: u32, message: String) {
        self.sink
            .emit(Event::Notification {
                channel: self.channel.name.clone(),
                kind: self.channel.channel.kind().to_string(),
                about: self.notification.event,
                env: self.notification.environment.clone(),
                status,
                attempt,
                message,
                at: Utc::now(),
            })
            .await;
    }
}

/// One attempt to send `notification` on `channel`, without retrying (`shipdeck notify test`
/// uses it as it is). The error never quotes the channel's URL or a secret.
pub async fn deliver_once(
    channel: &NotifyConfig,
    config: &Config,
    notification: &Notification,
) -> Result<Delivered, String> {
    let secret = |name: &str| {
        let env = config.secrets.iter().find(|s| s.name == name).map(|s| s.env.as_str());
        env.and_then(|e| std::env::var(e).ok())
            .ok_or_else(|| format!("secret {name} is not set on this host (its host variable is missing)"))
    };
    match &channel.channel {
        NotifyChannel::Webhook { url, secret: key } => {
            let body = notification.webhook_body(&channel.name);
            let mut headers = vec![("X-Shipdeck-Event", notification.event.as_str().to_string())];
            if let Some(key) = key {
                // Unsigned would be refused by a receiver that checks, or worse, accepted.
                let key = secret(key)?;
                headers.push((sign::SIGNATURE_HEADER, sign::signature(key.as_bytes(), &body)));
            }
            http::post_json(url, &headers, body)
                .await
                .map(|status| format!("HTTP {status}"))
                .map_err(|e| e.to_string())
        }
        NotifyChannel::Slack { url } => http::post_json(url, &[], notification.slack_body())
            .await
            .map(|status| format!("HTTP {status}"))
            .map_err(|e| e.to_string()),
        NotifyChannel::Email(email) => {
            let password = match &email.password {
                Some(name) => Some(secret(name)?),
                None => None,
            };
            email::send(email, password, notification).await
        }
    }
}
