//! The engine's link to Docker: connected or not, watched, reconnected. A console keeps running
//! while the engine is down and shows it; runs started then are refused with what to check.

use std::time::Duration;

use tokio::sync::watch;

use super::event::Event;
use super::recorder::EventSink;
use crate::docker::{self, Docker};

/// How often a connected engine is pinged, and a lost one is retried.
const PING_EVERY: Duration = Duration::from_secs(3);
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The current connection, shared by the engine's tasks: `None` while the engine is down.
#[derive(Clone)]
pub struct DockerLink {
    rx: watch::Receiver<Option<Docker>>,
}

impl DockerLink {
    /// A link that is always this connection (headless runs: a lost engine fails the run).
    pub fn fixed(docker: Docker) -> DockerLink {
        // A watch keeps its last value after the sender is gone: it stays this connection.
        let (_, rx) = watch::channel(Some(docker));
        DockerLink { rx }
    }

    pub fn current(&self) -> Option<Docker> {
        self.rx.borrow().clone()
    }

    /// Connects in the background, says so with [`Event::EngineStatus`], pings while
    /// connected and reconnects when the engine comes back.
    pub fn monitored(sink: EventSink) -> DockerLink {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(monitor(tx, sink));
        DockerLink { rx }
    }
}

async fn monitor(tx: watch::Sender<Option<Docker>>, sink: EventSink) {
    let mut last_down: Option<String> = None;
    let mut reaped = false;
    loop {
        match docker::connect().await {
            Ok(connected) => {
                if !std::mem::replace(&mut reaped, true) {
                    reap(&connected, &sink).await;
                }
                sink.emit(Event::EngineStatus {
                    connected: true,
                    address: connected.address.clone(),
                    version: Some(connected.server_version.clone()),
                    api_version: Some(connected.api_version.clone()),
                    message: None,
                })
                .await;
                let _ = tx.send(Some(connected.clone()));
                // Stay here while it answers.
                loop {
                    if !wait(&tx, PING_EVERY).await {
                        return;
                    }
                    if let Err(message) = connected.ping().await {
                        let _ = tx.send(None);
                        let message = format!("lost the connection: {message}");
                        sink.emit(down_event(&connected.address, &message)).await;
                        last_down = Some(message);
                        break;
                    }
                }
            }
            Err(e) => {
                // The view says "unreachable at ADDRESS" and what to check itself: keep only
                // what the engine or the socket said.
                let message = match e {
                    docker::DockerError::Unreachable { message, .. } => message,
                    other => other.to_string(),
                };
                if last_down.as_deref() != Some(message.as_str()) {
                    sink.emit(down_event(&docker::default_address(), &message)).await;
                    last_down = Some(message);
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        if !wait(&tx, RETRY_EVERY).await {
            return;
        }
    }
}

fn down_event(address: &str, message: &str) -> Event {
    Event::EngineStatus {
        connected: false,
        address: address.to_string(),
        version: None,
        api_version: None,
        message: Some(message.to_string()),
    }
}

/// Sleeps for `period`; false, at once, when the engine that watched this link has gone, so
/// that a quitting view is not kept waiting for the next ping.
async fn wait(tx: &watch::Sender<Option<Docker>>, period: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(period) => true,
        _ = tx.closed() => false,
    }
}

/// Removes what crashed shipdeck processes left on the engine, and says so.
async fn reap(docker: &Docker, sink: &EventSink) {
    for (level, message) in super::reaper::reap(docker).await {
        sink.emit(Event::Notice { level, message }).await;
    }
}
