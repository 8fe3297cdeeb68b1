//! The headless view's last line of defence: whatever it writes passes the terminal
//! sanitizer line by line, so no text from a repository, an engine or an app that some path
//! forgot to clean can move the cursor, set a title or write the clipboard. Colour stays.

use std::io::{self, Write};

use crate::term::sanitize_cow;

/// A writer that sanitizes each complete line before passing it on.
pub struct SafeLines<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> SafeLines<W> {
    pub fn new(inner: W) -> Self {
        SafeLines {
            inner,
            pending: Vec::new(),
        }
    }

    pub fn into_inner(mut self) -> W {
        let _ = self.write_pending();
        self.inner
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        self.inner.write_all(sanitize_cow(&text).as_bytes())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.write_line(&pending)
    }
}

impl<W: Write> Write for SafeLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.pending.is_empty() {
                self.write_line(&rest[..nl])?;
            } else {
                self.pending.extend_from_slice(&rest[..nl]);
                let line = std::mem::take(&mut self.pending);
                self.write_line(&line)?;
            }
            self.inner.write_all(b"\n")?;
            rest = &rest[nl + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_colour_gets_through() {
        let mut out = SafeLines::new(Vec::new());
        write!(out, "a \x1b]52;c;aGk=\x07b\x1b[2J\x1b[?1049h \x1b[31mred").unwrap();
        writeln!(out, "\x1b[0m \x1b]2;t\x1b\\end").unwrap();
        write!(out, "tail\x1b[H").unwrap();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert_eq!(text, "a b \x1b[31mred\x1b[0m end\ntail");
    }
}
