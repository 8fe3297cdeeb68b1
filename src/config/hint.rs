//! "Did you mean …?" suggestions for misspelt keys and names.

/// The candidate closest to `name`, if one is close enough to be a plausible typo.
///
/// Uses the optimal-string-alignment distance (a transposition counts as one edit) with a
/// tolerance that grows with the length of the name, and falls back on Jaro-Winkler similarity
/// for names that share a long prefix (`expect` → `expect_status`). Comparison ignores case.
pub(crate) fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    let tolerance = (len / 3).max(1);
    let mut best: Option<(usize, f64, &'a str)> = None;
    for candidate in candidates {
        let other = candidate.to_lowercase();
        if other == lower && candidate == name {
            continue;
        }
        let distance = strsim::osa_distance(&lower, &other);
        let similarity = strsim::jaro_winkler(&lower, &other);
        let plausible = distance <= tolerance || (len >= 4 && similarity >= 0.9);
        if !plausible {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, s, _)) => distance < d || (distance == d && similarity > s),
        };
        if better {
            best = Some((distance, similarity, candidate));
        }
    }
    best.map(|(_, _, candidate)| candidate)
}

/// `did you mean `x`?` for the closest candidate, if any.
pub(crate) fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// A comma-separated list of names in backticks: "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE_KEYS: &[&str] = &["image", "run", "needs", "timeout", "network", "cache"];

    #[test]
    fn typos_find_their_key() {
        assert_eq!(closest("imgae", STAGE_KEYS.iter().copied()), Some("image"));
        assert_eq!(closest("timout", STAGE_KEYS.iter().copied()), Some("timeout"));
        assert_eq!(closest("need", STAGE_KEYS.iter().copied()), Some("needs"));
        assert_eq!(closest("Image", STAGE_KEYS.iter().copied()), Some("image"));
        assert_eq!(closest("tset", ["test", "build"]), Some("test"));
        assert_eq!(closest("productoin", ["staging", "production"]), Some("production"));
        assert_eq!(
            closest("expect_stauts", ["expect_status", "expect_body"]),
            Some("expect_status")
        );
    }

    #[test]
    fn unrelated_names_get_no_hint() {
        assert_eq!(closest("x", STAGE_KEYS.iter().copied()), None);
        assert_eq!(closest("command", STAGE_KEYS.iter().copied()), None);
        assert_eq!(closest("deploy", ["test", "build"]), None);
        assert_eq!(closest("anything", std::iter::empty()), None);
    }

    #[test]
    fn one_of_lists_names() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
