//! The release console: a full-screen view over the engine's events.
//!
//! The loop drains every pending engine event, handles keys through the keymap, and draws at
//! most once per frame interval, and only when something changed.

pub mod action;
pub mod app;
mod elsewhere;
pub mod envs;
mod fold;
pub mod keymap;
pub mod log_budget;
pub mod log_pane;
pub mod model;
pub mod pager;
pub mod panels;
pub mod render;
mod selection;
pub mod terminal;
pub mod theme;
pub mod user_config;

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use tokio::time::Instant;

use self::action::Action;
use self::app::{App, Effect, ModalInput};
use self::render::Chrome;
use crate::engine::{EngineHandle, Event};

/// About 60 frames a second at most.
const FRAME: Duration = Duration::from_millis(16);
/// Spinner and live durations, only while a run is active.
const TICK: Duration = Duration::from_millis(100);
/// Events folded before a frame is drawn, so a flood of log lines cannot starve the keys.
const BATCH: usize = 20_000;
/// How long quitting waits for an operation on an environment (a deploy and its smoke
/// checks) to finish.
const OPERATION_GRACE: Duration = Duration::from_secs(180);

/// How the console ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleExit {
    Quit,
    /// Ctrl-C, SIGINT, SIGTERM or SIGHUP while runs were active: they were cancelled.
    Interrupted,
}

/// Runs the console until the user quits. The terminal is restored on every way out.
/// `started` is when the process started, for the first-frame time in the log.
pub async fn run(
    mut app: App,
    chrome: Chrome,
    mut engine: EngineHandle,
    started: std::time::Instant,
) -> anyhow::Result<ConsoleExit> {
    if app.envs.list.is_empty() {
        app.set_environments(envs::EnvSpec::guessed(&chrome.environments));
    }
    terminal::install_panic_hook();
    let mut term = terminal::enter()?;
    for command in app.startup_commands() {
        let _ = engine.commands.send(command);
    }
    let result = event_loop(&mut app, &chrome, &mut engine, &mut term, started).await;
    terminal::restore();
    let exit = result?;
    // Hang up and wait (briefly) for the engine to stop and clean up what it runs. An
    // operation on an environment is not cut half-way: the engine finishes it first.
    let operating: Vec<String> = app
        .envs
        .list
        .iter()
        .filter(|e| e.busy())
        .map(|e| e.name().to_string())
        .collect();
    let wait = if operating.is_empty() {
        Duration::from_secs(5)
    } else {
        eprintln!(
            "shipdeck: waiting for the operation on {} to finish (Ctrl-C leaves at once, and may leave its lock: `shipdeck unlock ENV` breaks it)…",
            operating.join(", ")
        );
        OPERATION_GRACE
    };
    let EngineHandle {
        commands, mut events, ..
    } = engine;
    drop(commands);
    let _ = tokio::time::timeout(wait, async { while events.recv().await.is_some() {} }).await;
    Ok(exit)
}

async fn event_loop(
    app: &mut App,
    chrome: &Chrome,
    engine: &mut EngineHandle,
    term: &mut terminal::Term,
    started: std::time::Instant,
) -> anyhow::Result<ConsoleExit> {
    let mut first_frame = true;
    let mut keys = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut poll = tokio::time::interval(envs::POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate())?;
    // `kill -INT` (Ctrl-C itself arrives as a key in raw mode): without a handler the process
    // would die at once, leaving the run's containers and the alternate screen behind.
    let mut sigint = signal(SignalKind::interrupt())?;
    // A closed terminal or dropped ssh session: cancel what runs and clean up, as for SIGTERM.
    let mut sighup = signal(SignalKind::hangup())?;
    let mut next_frame = Instant::now();
    // Effects that arrived while the pager owned the terminal, handled on the next turn.
    let mut deferred: Vec<Effect> = Vec::new();
    loop {
        let effects = if !deferred.is_empty() {
            std::mem::take(&mut deferred)
        } else {
            tokio::select! {
            event = engine.events.recv() => match event {
                Some(event) => drain(app, engine, event),
                None => anyhow::bail!("the engine stopped unexpectedly; see .shipdeck/shipdeck.log"),
            },
            input = keys.next() => match input {
                Some(Ok(input)) => handle_input(app, chrome, term, input),
                Some(Err(e)) => anyhow::bail!("reading the terminal failed: {e}"),
                None => vec![Effect::Quit],
            },
            _ = ticker.tick(), if app.busy() => {
                app.tick(Utc::now());
                Vec::new()
            }
            _ = poll.tick() => app.poll_environments(),
            _ = tokio::time::sleep_until(next_frame), if app.dirty => {
                app.now = Utc::now();
                term.draw(|frame| render::draw(app, chrome, frame))?;
                app.dirty = false;
                if std::mem::take(&mut first_frame) {
                    tracing::info!(ms = started.elapsed().as_secs_f64() * 1000.0, "first frame drawn");
                }
                next_frame = Instant::now() + FRAME;
                Vec::new()
            }
            _ = sigterm.recv() => vec![Effect::Interrupt],
            _ = sigint.recv() => vec![Effect::Interrupt],
            _ = sighup.recv() => vec![Effect::Interrupt],
            }
        };
        for effect in effects {
            match effect {
                Effect::Engine(command) => {
                    let _ = engine.commands.send(command);
                }
                Effect::Quit => return Ok(ConsoleExit::Quit),
                Effect::Interrupt => {
                    let active = app.any_active();
                    let _ = engine.commands.send(crate::engine::Command::CancelAll);
                    return Ok(if active {
                        ConsoleExit::Interrupted
                    } else {
                        ConsoleExit::Quit
                    });
                }
                Effect::Copy(text) => {
                    use std::io::Write as _;
                    let mut out = std::io::stdout();
                    let _ = out
                        .write_all(crate::term::clipboard::osc52(&text).as_bytes())
                        .and_then(|()| out.flush());
                }
                Effect::OpenPager(path) => {
                    let pager = std::env::var("PAGER")
                        .ok()
                        .filter(|p| !p.trim().is_empty())
                        .unwrap_or_else(|| "less -R".into());
                    let command = pager.clone();
                    let shown = tokio::task::spawn_blocking(move || pager::show(&command, &path));
                    let (status, later) = terminal::suspended_while(term, fold_while(app, engine, shown)).await?;
                    deferred.extend(later);
                    let status = status.unwrap_or_else(|e| Err(std::io::Error::other(e)));
                    if let Err(e) = status {
                        app.notify(
                            crate::engine::NoticeLevel::Error,
                            format!("cannot start the pager `{pager}`: {e}"),
                        );
                    }
                    app.dirty = true;
                }
                Effect::Suspend => {
                    terminal::suspend(term)?;
                    app.dirty = true;
                }
            }
        }
    }
}

/// Keeps folding the engine's events until `task` (the pager) ends, so that they never back up
/// into the engine and, through it, the stages' output pipes. Commands for the engine go out
/// at once; other effects wait for the console to have its terminal back.
async fn fold_while<T>(
    app: &mut App,
    engine: &mut EngineHandle,
    task: tokio::task::JoinHandle<T>,
) -> (Result<T, tokio::task::JoinError>, Vec<Effect>) {
    tokio::pin!(task);
    let mut later = Vec::new();
    loop {
        tokio::select! {
            done = &mut task => return (done, later),
            Some(event) = engine.events.recv() => {
                for effect in drain(app, engine, event) {
                    match effect {
                        Effect::Engine(command) => {
                            let _ = engine.commands.send(command);
                        }
                        other => later.push(other),
                    }
                }
            }
        }
    }
}

/// Folds this event and every other one already waiting, up to a batch.
fn drain(app: &mut App, engine: &mut EngineHandle, first: Event) -> Vec<Effect> {
    let mut effects = app.apply(first);
    for _ in 0..BATCH {
        match engine.events.try_recv() {
            Ok(event) => effects.extend(app.apply(event)),
            Err(_) => break,
        }
    }
    effects
}

fn handle_input(app: &mut App, chrome: &Chrome, term: &terminal::Term, input: TermEvent) -> Vec<Effect> {
    match input {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
            if app.modal.is_some() {
                let modal_key = match key.code {
                    KeyCode::Esc => Some(ModalInput::Esc),
                    KeyCode::Enter => Some(ModalInput::Enter),
                    KeyCode::Backspace => Some(ModalInput::Backspace),
                    KeyCode::Up => Some(ModalInput::Up),
                    KeyCode::Down => Some(ModalInput::Down),
                    KeyCode::Char(c)
                        if app.wants_text() && !key.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) =>
                    {
                        Some(ModalInput::Char(c))
                    }
                    _ => None,
                };
                if let Some(input) = modal_key {
                    if app.wants_text() || input == ModalInput::Esc {
                        return app.modal_input(input);
                    }
                }
            }
            match chrome.keymap.action(key) {
                Some(action) => app.update(action),
                None => Vec::new(),
            }
        }
        TermEvent::Mouse(mouse) => {
            let size = term.size().unwrap_or_default();
            let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            let (up, down) = (MouseEventKind::ScrollUp, MouseEventKind::ScrollDown);
            if mouse.kind == MouseEventKind::Down(crossterm::event::MouseButton::Left) {
                return match render::clicked(app, chrome, area, mouse.column, mouse.row) {
                    Some((panel, line)) => {
                        let height = render::layout(app, chrome, area).runs.height.saturating_sub(2);
                        app.click(panel, line, height as usize)
                    }
                    None => Vec::new(),
                };
            }
            if mouse.kind != up && mouse.kind != down {
                return Vec::new();
            }
            let Some(panel) = render::panel_at(app, chrome, area, mouse.column, mouse.row) else {
                return Vec::new();
            };
            app.focus_on(panel);
            let action = if mouse.kind == up { Action::Up } else { Action::Down };
            let mut effects = Vec::new();
            for _ in 0..3 {
                effects.extend(app.update(action));
                if app.focus != app::Focus::Log {
                    break;
                }
            }
            effects
        }
        TermEvent::Resize(..) => {
            app.dirty = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NoticeLevel;

    /// The pager holds the terminal for as long as the user reads; the engine's events keep
    /// being folded meanwhile, so a producer blocked on a full channel gets through.
    #[tokio::test]
    async fn events_are_folded_while_the_pager_is_open() {
        let (commands, _) = tokio::sync::mpsc::unbounded_channel();
        let (tx, events) = tokio::sync::mpsc::channel(4);
        let (queries, _) = tokio::sync::mpsc::unbounded_channel();
        let mut engine = EngineHandle {
            commands,
            events,
            queries,
        };
        let mut app = App::new(Vec::new(), 100);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        tokio::spawn(async move {
            for i in 0..100 {
                let event = Event::Notice {
                    level: NoticeLevel::Info,
                    message: format!("notice {i}"),
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
            let _ = done_tx.send(());
        });
        // The "pager" returns once every event was sent, or gives up after a while.
        let pager = tokio::task::spawn_blocking(move || done_rx.recv_timeout(Duration::from_secs(20)).is_ok());
        let (all_sent, later) = fold_while(&mut app, &mut engine, pager).await;
        assert!(
            all_sent.unwrap(),
            "the producer stayed blocked while the pager was open"
        );
        assert!(later.is_empty());
        // What the channel still buffers is the next turn's.
        while let Ok(event) = engine.events.try_recv() {
            app.apply(event);
        }
        assert_eq!(app.notice.as_ref().map(|(_, m)| m.as_str()), Some("notice 99"));
    }
}
