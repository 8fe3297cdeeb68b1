//! Reading back the end of a stage's log file without reading the whole file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

const CHUNK: u64 = 64 * 1024;

/// At most this much of a file's end is read back, whatever `max_lines` says: a view asking
/// for 100,000 lines of a log of 33 KB lines must not read 3 GB into memory.
pub const MAX_TAIL_BYTES: u64 = 8 * 1024 * 1024;

/// The last `max_lines` lines of the file (within its last [`MAX_TAIL_BYTES`]), and how many
/// lines came before them (counted only when the whole file was read; otherwise an estimate is
/// not given and 0 means "unknown").
pub fn read(path: &Path, max_lines: usize) -> io::Result<(Vec<String>, u64)> {
    read_within(path, max_lines, MAX_TAIL_BYTES)
}

fn read_within(path: &Path, max_lines: usize, max_bytes: u64) -> io::Result<(Vec<String>, u64)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut start = len;
    // Chunks read backwards, newest first; newlines counted as they come.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0;
    while start > 0 && newlines <= max_lines && len - start < max_bytes {
        let step = CHUNK.min(start).min(max_bytes - (len - start));
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut chunk = vec![0; step as usize];
        file.read_exact(&mut chunk)?;
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
        chunks.push(chunk);
    }
    let data: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    let text = String::from_utf8_lossy(&data);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // A chunk boundary may have cut the first line: drop it unless the file start was read.
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let skipped = lines.len().saturating_sub(max_lines);
    let tail = lines.split_off(skipped);
    let skipped = if start == 0 { skipped as u64 } else { 0 };
    Ok((tail, skipped))
}

#[cfg(test)]
mod tests {
    use super::{read, read_within};

    #[test]
    fn reads_the_tail_of_a_large_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let (lines, _) = read(&path, 3).unwrap();
        assert_eq!(lines, ["line 49997", "line 49998", "line 49999"]);
        let (all, skipped) = read(&path, 100_000).unwrap();
        assert_eq!(all.len(), 50_000);
        assert_eq!(skipped, 0);
    }

    #[test]
    fn small_files_count_what_was_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(read(&path, 2).unwrap(), (vec!["b".to_string(), "c".to_string()], 1));
    }

    #[test]
    fn reads_no_more_than_the_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let line = "x".repeat(33_000);
        let text: String = (0..200).map(|i| format!("{i} {line}\n")).collect();
        std::fs::write(&path, text).unwrap();
        // 100,000 lines asked for, 1 MiB allowed: only whole lines from the end, the newest last.
        let (lines, skipped) = read_within(&path, 100_000, 1024 * 1024).unwrap();
        assert_eq!(skipped, 0, "unknown: the file start was not read");
        assert!(
            !lines.is_empty() && lines.len() <= 1024 * 1024 / 33_000,
            "{}",
            lines.len()
        );
        assert!(lines.iter().all(|l| l.ends_with(&line)));
        assert!(lines.last().unwrap().starts_with("199 "));
        let first: usize = lines[0].split(' ').next().unwrap().parse().unwrap();
        assert_eq!(first, 200 - lines.len(), "consecutive whole lines");
    }
}
