//! "Did you mean …?" suggestions for misspelt keys and names.

use crate::text::closest;

/// `did you mean `x`?` for the closest candidate, if any.
pub(crate) fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// A comma-separated list of names in backticks: "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    crate::text::quoted_list(names, "or")
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
