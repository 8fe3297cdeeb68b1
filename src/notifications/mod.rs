//! Notifications (`[notify.NAME]`): news of runs and releases sent to webhooks, Slack and
//! email, in the background.
//!
//! The recorder hands every event it has recorded to a [`Tap`] (`classify.rs`), which picks
//! out what a channel can hear about (a run failed or was fixed, a release deployed, failed,
//! refused, rolled back, an approval waiting) and queues a [`Notification`] without waiting.
//! The [`outbox`] task delivers each to every channel that wants it, with retries and backoff,
//! each delivery bounded in time; what happened to it becomes an [`Event::Notification`]
//! (shown by the views and recorded in the history). Nothing here can fail, block or delay a
//! run or a release: a full queue drops the notification with a warning.
//!
//! [`Event::Notification`]: crate::engine::Event::Notification

mod classify;
mod email;
mod http;
mod message;
pub mod outbox;
mod sign;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use classify::{start, Tap};
pub use message::Notification;
pub use outbox::{deliver_once, secret_values, Delivered, Job};
pub use sign::{signature, SIGNATURE_HEADER};

/// What happened to one notification on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    /// This attempt failed; another follows.
    Retrying,
    /// Every attempt failed, or shipdeck exited first.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// Clock type shared by the submodules.
pub(crate) type At = DateTime<Utc>;
