//! Debouncing: a timer that fires after a quiet period (or a cap), and the burst of saved paths it guards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::events::Change;

/// Fires `quiet` after the last touch, but no later than `cap` after the first one.
#[derive(Debug, Clone)]
pub(crate) struct Debounce {
    quiet: Duration,
    cap: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debounce {
    pub fn new(quiet: Duration, cap: Duration) -> Debounce {
        Debounce {
            quiet,
            cap: cap.max(quiet),
            first: None,
            last: None,
        }
    }

    pub fn touch(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    pub fn deadline(&self) -> Option<Instant> {
        match (self.first, self.last) {
            (Some(first), Some(last)) => Some((last + self.quiet).min(first + self.cap)),
            _ => None,
        }
    }

    /// True (and cleared) when the deadline has passed.
    pub fn fire(&mut self, now: Instant) -> bool {
        let due = self.deadline().is_some_and(|deadline| deadline <= now);
        if due {
            self.clear();
        }
        due
    }

    pub fn clear(&mut self) {
        self.first = None;
        self.last = None;
    }
}

/// The paths changed since the last `Saved`, relative to the app dir.
#[derive(Debug)]
pub(crate) struct SaveBurst {
    pub timer: Debounce,
    /// For each path: whether it appeared during this burst (so, if it is gone again, it was a temporary file).
    paths: BTreeMap<PathBuf, bool>,
    /// Events were lost: report the app dir itself as changed.
    overflowed: bool,
}

impl SaveBurst {
    pub fn new(debounce: Duration) -> SaveBurst {
        SaveBurst {
            timer: Debounce::new(debounce, debounce * 10),
            paths: BTreeMap::new(),
            overflowed: false,
        }
    }

    pub fn record(&mut self, rel: PathBuf, change: Change, now: Instant) {
        self.paths.entry(rel).or_insert(change == Change::Created);
        self.timer.touch(now);
    }

    pub fn overflow(&mut self, now: Instant) {
        self.overflowed = true;
        self.timer.touch(now);
    }

    pub fn clear(&mut self) {
        self.paths.clear();
        self.overflowed = false;
        self.timer.clear();
    }

    /// The burst's paths, sorted: files that exist now, and paths that existed before and are gone (deleted or
    /// renamed away). A file created and gone within the burst (an editor's temporary file) is left out, and so
    /// are directories. After lost events the list holds `.`, the app dir itself.
    pub fn take(&mut self, app_dir: &Path) -> Vec<PathBuf> {
        let paths = std::mem::take(&mut self.paths);
        let mut out: Vec<PathBuf> = paths
            .into_iter()
            .filter(|(rel, appeared)| match std::fs::symlink_metadata(app_dir.join(rel)) {
                Ok(meta) => !meta.is_dir(),
                Err(_) => !appeared,
            })
            .map(|(rel, _)| rel)
            .collect();
        if std::mem::take(&mut self.overflowed) {
            out.insert(0, PathBuf::from("."));
        }
        self.timer.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_resets_and_cap_bounds() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debounce::new(ms(100), ms(250));
        assert_eq!(d.deadline(), None);
        d.touch(start);
        assert_eq!(d.deadline(), Some(start + ms(100)));
        d.touch(start + ms(90));
        assert_eq!(d.deadline(), Some(start + ms(190)));
        d.touch(start + ms(200));
        assert_eq!(d.deadline(), Some(start + ms(250)), "capped");
        assert!(!d.fire(start + ms(249)));
        assert!(d.fire(start + ms(250)));
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn temporary_files_and_directories_are_left_out() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::write(root.join("x.py"), "1")?;
        std::fs::create_dir(root.join("pkg"))?;
        let now = Instant::now();
        let mut burst = SaveBurst::new(Duration::from_millis(10));
        burst.record("x.tmp".into(), Change::Created, now);
        burst.record("x.tmp".into(), Change::Removed, now);
        burst.record("x.py".into(), Change::Created, now);
        burst.record("deleted.py".into(), Change::Modified, now);
        burst.record("deleted.py".into(), Change::Removed, now);
        burst.record("pkg".into(), Change::Created, now);
        assert_eq!(
            burst.take(root),
            vec![PathBuf::from("deleted.py"), PathBuf::from("x.py")]
        );
        assert!(burst.take(root).is_empty());
        burst.overflow(now);
        assert_eq!(burst.take(root), vec![PathBuf::from(".")]);
        Ok(())
    }
}
