//! Reading back the end of a stage's log file without reading the whole file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

const CHUNK: u64 = 64 * 1024;

/// The last `max_lines` lines of the file, and how many lines came before them (counted only
/// when the whole file was read; otherwise an estimate is not given and 0 means "unknown").
pub fn read(path: &Path, max_lines: usize) -> io::Result<(Vec<String>, u64)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut start = len;
    let mut data: Vec<u8> = Vec::new();
    // Read backwards in chunks until enough newlines are in hand.
    while start > 0 && data.iter().filter(|b| **b == b'\n').count() <= max_lines {
        let step = CHUNK.min(start);
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut chunk = vec![0; step as usize];
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&data);
        data = chunk;
    }
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
    use super::read;

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
}
