//! The one start-up reaper, for every view: removes what provably dead shipdeck processes left
//! on the engine and says what it removed and what it kept (orphans it cannot judge), as
//! notices the console shows and the headless view prints.

use super::event::NoticeLevel;
use crate::docker::{Docker, Leftover};

/// Orphans named one by one in a notice; the rest are counted.
const NAMED: usize = 5;

/// Reaps, and returns what the user should be told.
pub async fn reap(docker: &Docker) -> Vec<(NoticeLevel, String)> {
    let sweep = match docker.reap_leftovers().await {
        Ok(sweep) => sweep,
        Err(e) => {
            return vec![(
                NoticeLevel::Warning,
                format!("could not check for leftovers of interrupted runs: {e}"),
            )]
        }
    };
    let mut notices = Vec::new();
    if !sweep.reaped.is_empty() {
        notices.push((
            NoticeLevel::Info,
            format!("removed leftovers of interrupted runs: {}", sweep.reaped.names()),
        ));
    }
    if !sweep.orphans.is_empty() {
        notices.push((NoticeLevel::Warning, orphans_notice(&sweep.orphans)));
    }
    notices
}

/// `kept 2 orphaned leftover(s) … (`shipdeck status` lists them, `shipdeck clean` removes them …): …`.
pub fn orphans_notice(orphans: &[Leftover]) -> String {
    let mut named: Vec<String> = orphans.iter().take(NAMED).map(Leftover::describe).collect();
    if orphans.len() > NAMED {
        named.push(format!("and {} more", orphans.len() - NAMED));
    }
    format!(
        "kept {} orphaned leftover(s) whose shipdeck cannot be proven gone from here (`shipdeck status` lists them, `shipdeck clean` removes them once you know it is not running): {}",
        orphans.len(),
        named.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::LeftoverKind;
    use crate::owner::Liveness;

    fn orphan(n: usize) -> Leftover {
        Leftover {
            kind: LeftoverKind::Container,
            id: format!("id{n}"),
            name: format!("shipdeck-a-{n}-test"),
            app: "a".into(),
            run: n.to_string(),
            owner: "ci/1/5/boot/9".into(),
            liveness: Liveness::Unknown("it runs in another PID namespace (another container)"),
        }
    }

    #[test]
    fn the_notice_names_a_few_orphans_counts_the_rest_and_says_what_to_do() {
        let orphans: Vec<Leftover> = (1..=7).map(orphan).collect();
        let text = orphans_notice(&orphans);
        assert!(text.starts_with("kept 7 orphaned leftover(s)"), "{text}");
        assert!(text.contains(
            "container shipdeck-a-1-test (app a, run 1, owner ci/1/5/boot/9): it runs in another PID namespace"
        ));
        assert!(
            text.contains("shipdeck-a-5-test") && !text.contains("shipdeck-a-6-test"),
            "{text}"
        );
        assert!(text.contains("and 2 more"), "{text}");
        assert!(text.contains("`shipdeck clean`"), "{text}");
    }
}
