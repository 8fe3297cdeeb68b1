//! Opening a stage's full log in the user's pager. The file on disk is the stage's raw
//! output, so it goes through the same sanitizer as the log pane on its way to the terminal:
//! only colour sequences reach it.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, Stdio};

use crate::term::sanitize_cow;

/// Runs `pager` (a shell command line, like `$PAGER`) on the sanitized lines of `path` and
/// waits for it to exit.
pub fn show(pager: &str, path: &str) -> std::io::Result<std::process::ExitStatus> {
    let file = std::fs::File::open(path)?;
    let mut child = Command::new("sh").arg("-c").arg(pager).stdin(Stdio::piped()).spawn()?;
    let Some(stdin) = child.stdin.take() else {
        return child.wait();
    };
    // The pager reads as the user scrolls: feed it from a thread; when the user quits early,
    // the write fails (broken pipe) and the thread ends.
    let feeder = std::thread::spawn(move || {
        let mut out = BufWriter::new(stdin);
        for line in BufReader::new(file).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            if writeln!(out, "{}", sanitize_cow(&text)).is_err() {
                break;
            }
        }
        let _ = out.flush();
    });
    let status = child.wait();
    let _ = feeder.join();
    status
}

#[cfg(test)]
mod tests {
    use super::show;

    #[test]
    fn the_pager_gets_the_log_without_control_sequences() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stage.log");
        std::fs::write(&log, "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\nplain\x1b[2J\n").unwrap();
        let out = dir.path().join("seen");
        let status = show(&format!("cat > '{}'", out.display()), log.to_str().unwrap()).unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read_to_string(out).unwrap(), "\x1b[31mred\x1b[0m\nplain\n");
    }
}
