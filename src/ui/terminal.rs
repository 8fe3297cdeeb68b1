//! Owning the terminal: raw mode and the alternate screen on the way in, and always restored
//! on the way out — normal quit, Ctrl-C, SIGTERM, a panic — and around a pager or a suspend.

use std::io::{self, Stdout, Write};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub fn enter() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture, cursor::Hide) {
        restore();
        return Err(e);
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    terminal.clear()?;
    Ok(terminal)
}

/// Puts the terminal back as it was. Safe to call more than once and from a panic hook.
pub fn restore() {
    let mut stdout = io::stdout();
    let _ = execute!(stdout, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

/// Restores the terminal before any panic report is printed, then lets the previous hook
/// (the default one prints the message) run; the report also goes to the log file.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

/// Runs `f` with the terminal given back to the shell (for a pager), then takes it again.
pub fn suspended<T>(terminal: &mut Term, f: impl FnOnce() -> T) -> io::Result<T> {
    restore();
    let result = f();
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
    terminal.clear()?;
    Ok(result)
}

/// Awaits `work` with the terminal given back to the shell (a pager runs meanwhile), then
/// takes it again.
pub async fn suspended_while<T>(terminal: &mut Term, work: impl std::future::Future<Output = T>) -> io::Result<T> {
    restore();
    let result = work.await;
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
    terminal.clear()?;
    Ok(result)
}

/// Ctrl-Z: give the terminal back, stop the process like the shell would, and take the
/// terminal again when it is continued (`fg`).
pub fn suspend(terminal: &mut Term) -> io::Result<()> {
    suspended(terminal, || {
        if let Err(e) = signal_hook::low_level::raise(signal_hook::consts::SIGTSTP) {
            tracing::warn!("cannot suspend: {e}");
        }
    })
}
