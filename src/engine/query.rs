//! Queries: commands that answer. A view either asks one on [`EngineHandle::queries`] (with
//! [`EngineHandle::ask`]) and gets exactly its answer back, or sends it on `commands`, and the
//! answer comes on the event stream like every other event (the console folds it there).
//!
//! [`EngineHandle::queries`]: super::EngineHandle::queries
//! [`EngineHandle::ask`]: super::EngineHandle::ask

use tokio::sync::oneshot;

use super::event::Event;
use super::event_text;
use super::recorder::EventSink;
use super::Command;
use crate::mask::SecretMasker;

/// The answer to a query: its events, in order, masked and sanitized like every event. What
/// each query answers is said on its [`Command`] variant.
pub type Reply = Vec<Event>;

/// A query and where its answer goes.
#[derive(Debug)]
pub struct Ask {
    pub command: Command,
    pub reply: oneshot::Sender<Reply>,
}

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("{0:?} is not a query: send it as a command")]
    NotAQuery(Box<Command>),
    #[error("shipdeck: the engine stopped before answering")]
    EngineGone,
}

impl Command {
    /// Whether the command answers (see [`Reply`]); all others only act, and report as they go.
    pub fn is_query(&self) -> bool {
        matches!(
            self,
            Command::Refresh
                | Command::LoadHistory { .. }
                | Command::LoadLog { .. }
                | Command::PlanCommit { .. }
                | Command::LoadEnvironments
                | Command::LoadReleases { .. }
                | Command::PreviewPromotion { .. }
                | Command::Unlock { .. }
                | Command::Accessory { .. }
        )
    }
}

/// Where a query's answer goes.
#[derive(Debug)]
pub enum ReplyTo {
    /// Onto the shared event stream (a query sent as a command).
    Stream,
    /// To the one who asked, alone.
    Asker(oneshot::Sender<Reply>),
}

impl ReplyTo {
    /// Answers through the engine's tasks: onto the stream through `sink` (which records,
    /// masks and sanitizes), or cleaned here with the sink's secrets and handed to the asker.
    pub(super) async fn send(self, sink: &EventSink, events: Reply) {
        match self {
            ReplyTo::Stream => {
                for event in events {
                    sink.emit(event).await;
                }
            }
            ReplyTo::Asker(tx) => {
                let _ = tx.send(cleaned(events, &sink.masker()));
            }
        }
    }

    /// Answers from the recorder's thread: `stream` is its own way out to the view.
    pub(super) fn send_blocking(self, masker: &SecretMasker, events: Reply, stream: impl Fn(Event)) {
        match self {
            ReplyTo::Stream => events.into_iter().for_each(stream),
            ReplyTo::Asker(tx) => {
                let _ = tx.send(cleaned(events, masker));
            }
        }
    }
}

fn cleaned(mut events: Reply, masker: &SecretMasker) -> Reply {
    for event in &mut events {
        event_text::clean(event, masker);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{recorder, NoticeLevel};

    /// An answer to an asker bypasses the recorder: it is masked and sanitized here, like
    /// every event the recorder hands on.
    #[tokio::test]
    async fn an_answer_to_the_asker_is_masked_and_sanitized() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let (sink, _events) = recorder::spawn(store, 8, false);
        sink.add_secrets(["s3cr3t-t0ken-value".to_string()]);
        let (tx, rx) = oneshot::channel();
        let said = "engine said s3cr3t-t0ken-value \x1b]52;c;ZXZpbA==\x07\x1b[2J done";
        let answer = vec![Event::Notice {
            level: NoticeLevel::Error,
            message: said.to_string(),
        }];
        ReplyTo::Asker(tx).send(&sink, answer).await;
        let reply = rx.await.unwrap();
        let [Event::Notice { message, .. }] = reply.as_slice() else {
            panic!("{reply:?}")
        };
        assert!(!message.contains("s3cr3t-t0ken-value"), "{message:?}");
        assert!(!message.contains('\x1b') && !message.contains('\x07'), "{message:?}");
        assert!(
            message.starts_with("engine said ") && message.ends_with(" done"),
            "{message:?}"
        );
    }
}
