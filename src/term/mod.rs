//! Terminal output of pipeline stages, made safe to show.
//!
//! Stage output is untrusted (DESIGN.md, "Safety that users rely on"): only colour (SGR)
//! sequences may reach the screen. [`sanitize`] turns one raw line into its final visible
//! form containing nothing but printable text and `ESC [ [0-9;:]* m`; [`to_line`],
//! [`strip_sgr`] and [`visible_width`] work on that form.

mod cells;
pub mod clipboard;
pub mod cut;
mod lex;
mod render;
mod sanitize;
mod scan;
mod sgr;
mod visible;

pub use render::{strip_sgr, to_line, visible_width};
pub use sanitize::{plain_text, sanitize, sanitize_cow, sanitize_text};
pub(crate) use visible::has_invisible;
pub use visible::{visible_text, VisibleText};

/// Whether `line` holds any control character (C0, DEL, C1): lines without one are their own
/// sanitized form.
pub fn has_control(line: &str) -> bool {
    scan::has_control(line)
}

#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_sanitize;
#[cfg(test)]
mod tests_style;
