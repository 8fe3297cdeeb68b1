//! A stage's two streams. Each is made into lines by its own [`LineBuffer`], so that
//! block-buffered stdout and unbuffered stderr never mangle each other's lines. But a
//! terminal shows them interleaved in arrival order: `tok-SEC` on stdout, then `RET` on
//! stderr, reads `tok-SECRET`. [`StageOutput`] keeps the pieces of the line a terminal would
//! be showing now (the pending ends of both streams, in arrival order, since the last line
//! end on either) and masks a secret that spans them, in every piece it touches.

use std::borrow::Cow;

use super::lines::{char_boundary, LineBuffer, RECORD_SEPARATOR};
use super::{SecretMasker, MASK};
use crate::term::{visible_text, VisibleText};

/// Which of a stage's streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutStream {
    Stdout,
    Stderr,
}

/// Bytes `start..end` of one stream's pending line, a piece of the line on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    stream: OutStream,
    start: usize,
    end: usize,
}

#[derive(Debug, Default)]
pub struct StageOutput {
    stdout: LineBuffer,
    stderr: LineBuffer,
    masker: SecretMasker,
    /// The line on screen, in arrival order: only its last few secret-lengths are kept.
    screen: Vec<Piece>,
}

impl StageOutput {
    pub fn new(masker: SecretMasker) -> StageOutput {
        StageOutput {
            stdout: LineBuffer::new(masker.clone()),
            stderr: LineBuffer::new(masker.clone()),
            masker,
            screen: Vec::new(),
        }
    }

    fn buffer(&mut self, stream: OutStream) -> &mut LineBuffer {
        match stream {
            OutStream::Stdout => &mut self.stdout,
            OutStream::Stderr => &mut self.stderr,
        }
    }

    /// Feeds a chunk of `stream`, in the order chunks arrived; calls `emit` for each line it
    /// completes (of that stream).
    pub fn push(&mut self, stream: OutStream, chunk: &[u8], emit: impl FnMut(String)) {
        let crosses = self.screen.iter().any(|p| p.stream != stream);
        let chunk = match crosses && !self.masker.is_empty() {
            true => self.mask_across(chunk).map_or(Cow::Borrowed(chunk), Cow::Owned),
            false => Cow::Borrowed(chunk),
        };
        let before = self.buffer(stream).partial.len();
        self.buffer(stream).push(&chunk, emit);
        let after = self.buffer(stream).partial.len();
        let ended = chunk.iter().any(|b| *b == b'\n' || *b == RECORD_SEPARATOR);
        if ended || after != before + chunk.len() {
            // A new line on screen (or a long line cut, which moved the pending bytes).
            self.screen.clear();
            self.screen.push(Piece {
                stream,
                start: 0,
                end: after,
            });
        } else {
            match self.screen.last_mut() {
                Some(last) if last.stream == stream && last.end == before => last.end = after,
                _ => self.screen.push(Piece {
                    stream,
                    start: before,
                    end: after,
                }),
            }
        }
        self.trim();
    }

    /// The last, unterminated line of a stream.
    pub fn finish(&mut self, stream: OutStream, emit: impl FnMut(String)) {
        self.screen.retain(|p| p.stream != stream);
        self.buffer(stream).finish(emit);
    }

    /// Keeps only as much of the screen line as a secret (with escapes inside) can span.
    fn trim(&mut self) {
        let mut budget = self.masker.longest() * 4;
        let mut keep = self.screen.len();
        for i in (0..self.screen.len()).rev() {
            if budget == 0 {
                break;
            }
            keep = i;
            let piece = self.screen[i];
            let len = piece.end - piece.start;
            if len > budget {
                let partial = &self.buffer(piece.stream).partial;
                let start = char_boundary(partial, piece.end - budget);
                self.screen[i].start = start.max(piece.start);
                budget = 0;
            } else {
                budget -= len;
            }
        }
        self.screen.drain(..keep);
        self.screen.retain(|p| p.end > p.start);
    }

    /// Masks every secret that the screen line plus the start of `chunk` (up to its first
    /// line end) hold across pieces: in the pending lines in place, and in the returned chunk.
    fn mask_across(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        let reach = self.masker.longest() * 4;
        let head_end = chunk
            .iter()
            .position(|b| *b == b'\n' || *b == RECORD_SEPARATOR)
            .unwrap_or(chunk.len())
            .min(reach);
        // Binary (invalid UTF-8) output is not searched: it shows as replacement characters.
        let head = std::str::from_utf8(&chunk[..char_boundary(chunk, head_end)]).ok()?;
        let mut seen: Vec<(VisibleText, usize)> = Vec::new();
        let mut joined = String::new();
        for piece in self.screen.clone() {
            let text = std::str::from_utf8(&self.buffer(piece.stream).partial[piece.start..piece.end]).ok()?;
            let visible = visible_text(text);
            seen.push((visible, joined.len()));
            joined.push_str(&seen[seen.len() - 1].0.text);
        }
        let head_visible = visible_text(head);
        let head_at = joined.len();
        joined.push_str(&head_visible.text);
        seen.push((head_visible, head_at));
        // (piece, raw from, raw to) to replace with the mask, later ones first.
        let mut cuts: Vec<(usize, usize, usize)> = Vec::new();
        for (from, to) in self.masker.find(&joined) {
            let first = seen.iter().rposition(|(_, at)| *at <= from)?;
            let last = seen.iter().rposition(|(_, at)| *at < to)?;
            if first == last {
                continue; // within one piece: its own stream's line buffer masks it
            }
            for (i, (visible, at)) in seen.iter().enumerate().take(last + 1).skip(first) {
                let (a, b) = (from.max(*at) - at, to.min(at + visible.text.len()) - at);
                if a < b {
                    cuts.push((i, visible.raw[a], visible.raw[b - 1] + 1));
                }
            }
        }
        if cuts.is_empty() {
            return None;
        }
        cuts.sort_by(|x, y| y.cmp(x));
        let head_piece = seen.len() - 1;
        let mut chunk = chunk.to_vec();
        for (i, from, to) in cuts {
            if i == head_piece {
                chunk.splice(from..to, MASK.bytes());
                continue;
            }
            let piece = self.screen[i];
            let partial = &mut self.buffer(piece.stream).partial;
            partial.splice(piece.start + from..piece.start + to, MASK.bytes());
            let delta = MASK.len() as isize - (to - from) as isize;
            // This piece and the later ones of its stream moved.
            self.screen[i].end = (self.screen[i].end as isize + delta) as usize;
            for later in self.screen.iter_mut().skip(i + 1).filter(|p| p.stream == piece.stream) {
                later.start = (later.start as isize + delta) as usize;
                later.end = (later.end as isize + delta) as usize;
            }
        }
        Some(chunk)
    }
}
