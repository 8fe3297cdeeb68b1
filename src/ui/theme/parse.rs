//! Reading a theme file: TOML text → styles keyed by meaning, with every problem reported
//! at `file:line:col`.

use ratatui::style::{Color, Modifier, Style};
use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::{ThemeError, STYLE_KEYS};
use crate::text::{closest, line_col, quoted_list};

/// What a theme file says, before it is laid over a base theme.
pub(super) struct ThemeFile {
    pub name: Option<String>,
    pub styles: Vec<(&'static str, Style)>,
}

const TOP_KEYS: &[&str] = &["name", "description", "styles"];
const STYLE_FIELDS: &[&str] = &["fg", "bg", "modifiers"];

const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

const COLOURS: &[(&str, Color)] = &[
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
];

/// Words people reach for, mapped to the meaning shipdeck calls it. Themes name meanings, not
/// widgets, so `title` or `highlight` point at the meaning those widgets use.
const SYNONYMS: &[(&str, &str)] = &[
    ("error", "failure"),
    ("errors", "failure"),
    ("failed", "failure"),
    ("fail", "failure"),
    ("timed_out", "failure"),
    ("ok", "success"),
    ("passed", "success"),
    ("succeeded", "success"),
    ("queued", "pending"),
    ("waiting", "pending"),
    ("canceled", "cancelled"),
    ("approval", "awaiting_approval"),
    ("prod", "production"),
    ("selected", "selection"),
    ("highlight", "selection"),
    ("title", "accent"),
    ("focus", "accent"),
    ("focused", "accent"),
    ("dimmed", "muted"),
    ("secondary", "muted"),
    ("foreground", "fg"),
    ("background", "bg"),
    ("color", "fg"),
    ("colour", "fg"),
    ("modifier", "modifiers"),
    ("attrs", "modifiers"),
    ("underline", "underlined"),
    ("reverse", "reversed"),
    ("inverse", "reversed"),
    ("strikethrough", "crossed_out"),
    ("faint", "dim"),
    ("italics", "italic"),
    ("grey", "gray"),
    ("purple", "magenta"),
];

/// `did you mean …?` for a misspelt or borrowed word, among `known`.
pub(super) fn suggest(word: &str, known: &[&str]) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let synonym = SYNONYMS
        .iter()
        .find(|(from, _)| *from == lower)
        .and_then(|(_, to)| known.iter().copied().find(|k| k == to));
    synonym
        .or_else(|| closest(word, known.iter().copied()))
        .map(|k| format!("did you mean `{k}`?"))
}

/// Parses a whole theme file. `file` is only used in messages.
pub(super) fn parse_file(text: &str, file: &str) -> Result<ThemeFile, ThemeError> {
    let at = Locator { text, file };
    let root = DeTable::parse(text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        at.error(offset, e.message().trim_end().to_string(), None)
    })?;
    let mut out = ThemeFile {
        name: None,
        styles: Vec::new(),
    };
    for (key, value) in root.get_ref() {
        match key.get_ref().as_ref() {
            "name" => out.name = Some(at.string(value, "name")?.to_string()),
            "description" => {
                at.string(value, "description")?;
            }
            "styles" => {
                let DeValue::Table(styles) = value.get_ref() else {
                    let found = found(value.get_ref());
                    return Err(at.error(
                        Some(value.span().start),
                        format!("`styles` must be a table, found {found}"),
                        Some("write the styles under a `[styles]` header".into()),
                    ));
                };
                for (key, value) in styles {
                    out.styles.push(at.style_entry(key, value)?);
                }
            }
            other => {
                let hint = suggest(other, TOP_KEYS).or_else(|| {
                    let style = STYLE_KEYS.contains(&other);
                    style.then(|| format!("move `{other}` under the `[styles]` header"))
                });
                let message = format!(
                    "unknown key `{other}`: a theme file has {}",
                    quoted_list(TOP_KEYS, "and")
                );
                return Err(at.error(Some(key.span().start), message, hint));
            }
        }
    }
    Ok(out)
}

/// Turns byte offsets of one file into `file:line:col` errors.
struct Locator<'a> {
    text: &'a str,
    file: &'a str,
}

impl Locator<'_> {
    fn error(&self, offset: Option<usize>, message: String, hint: Option<String>) -> ThemeError {
        let (line, col) = offset.map_or((0, 0), |o| line_col(self.text, o));
        ThemeError::Invalid {
            file: self.file.to_string(),
            line,
            col,
            message,
            hint,
        }
    }

    fn string<'v>(&self, value: &'v Spanned<DeValue<'_>>, what: &str) -> Result<&'v str, ThemeError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.error(
                Some(value.span().start),
                format!("`{what}` must be a string, found {}", found(other)),
                None,
            )),
        }
    }

    fn style_entry(
        &self,
        key: &Spanned<toml::de::DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(&'static str, Style), ThemeError> {
        let name = key.get_ref().as_ref();
        let Some(slot) = STYLE_KEYS.iter().copied().find(|k| *k == name) else {
            return Err(self.error(
                Some(key.span().start),
                format!("unknown style `{name}`: styles are {}", quoted_list(&STYLE_KEYS, "and")),
                suggest(name, &STYLE_KEYS),
            ));
        };
        let DeValue::Table(fields) = value.get_ref() else {
            return Err(self.error(
                Some(value.span().start),
                format!("style `{name}` must be a table, found {}", found(value.get_ref())),
                Some(format!(
                    "write it like `{name} = {{ fg = \"red\", modifiers = [\"bold\"] }}`"
                )),
            ));
        };
        let mut style = Style::default();
        for (field, value) in fields {
            match field.get_ref().as_ref() {
                "fg" => style.fg = Some(self.colour(value, name, "fg")?),
                "bg" => style.bg = Some(self.colour(value, name, "bg")?),
                "modifiers" => style = style.add_modifier(self.modifiers(value, name)?),
                other => {
                    return Err(self.error(
                        Some(field.span().start),
                        format!(
                            "unknown field `{other}` in style `{name}`: a style has {}",
                            quoted_list(STYLE_FIELDS, "and")
                        ),
                        suggest(other, STYLE_FIELDS),
                    ))
                }
            }
        }
        Ok((slot, style))
    }

    fn colour(&self, value: &Spanned<DeValue<'_>>, style: &str, field: &str) -> Result<Color, ThemeError> {
        let at = Some(value.span().start);
        let DeValue::String(raw) = value.get_ref() else {
            return Err(self.error(
                at,
                format!(
                    "`{style}.{field}` must be a colour string, found {}",
                    found(value.get_ref())
                ),
                Some(ACCEPTED_COLOURS.into()),
            ));
        };
        parse_colour(raw).map_err(|bad| {
            let reason = bad.reason.map(|r| format!("{r}; ")).unwrap_or_default();
            let message = format!("{} in `{style}.{field}`: {reason}{ACCEPTED_COLOURS}", bad.what);
            self.error(at, message, bad.hint)
        })
    }

    fn modifiers(&self, value: &Spanned<DeValue<'_>>, style: &str) -> Result<Modifier, ThemeError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.error(
                Some(value.span().start),
                format!("`{style}.modifiers` must be a list, found {}", found(value.get_ref())),
                Some("write it like `modifiers = [\"bold\", \"reversed\"]`".into()),
            ));
        };
        let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
        let mut all = Modifier::empty();
        for item in items {
            let found_modifier = match item.get_ref() {
                DeValue::String(s) => MODIFIERS
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(s))
                    .map(|(_, m)| *m)
                    .ok_or_else(|| {
                        (
                            format!("unknown modifier `{s}` in `{style}.modifiers`"),
                            suggest(s, &names),
                        )
                    }),
                other => Err((
                    format!("`{style}.modifiers` must list strings, found {}", found(other)),
                    None,
                )),
            };
            match found_modifier {
                Ok(m) => all |= m,
                Err((message, hint)) => {
                    return Err(self.error(
                        Some(item.span().start),
                        format!("{message}: modifiers are {}", quoted_list(&names, "and")),
                        hint,
                    ))
                }
            }
        }
        Ok(all)
    }
}

const ACCEPTED_COLOURS: &str = "a colour is a name (black, red, green, yellow, blue, magenta, \
     cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, \
     lightcyan, white, reset), `#rrggbb`, or `indexed:N` with N from 0 to 255";

/// What is wrong with a colour value.
#[derive(Debug, PartialEq)]
struct BadColour {
    /// "bad colour `#f80`"
    what: String,
    reason: Option<&'static str>,
    hint: Option<String>,
}

fn bad(what: &str, raw: &str, reason: Option<&'static str>, hint: Option<String>) -> BadColour {
    BadColour {
        what: format!("{what} `{raw}`"),
        reason,
        hint,
    }
}

/// A colour, or what is wrong with it.
fn parse_colour(raw: &str) -> Result<Color, BadColour> {
    let trimmed = raw.trim();
    if let Some(hex) = trimmed.strip_prefix('#') {
        let valid = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or(""), 16).ok();
        return match (valid, channel(0), channel(2), channel(4)) {
            (true, Some(r), Some(g), Some(b)) => Ok(Color::Rgb(r, g, b)),
            _ => Err(bad(
                "bad colour",
                raw,
                Some("`#` must be followed by 6 hex digits"),
                short_hex_hint(hex),
            )),
        };
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("indexed:") {
        let reason = Some("the index must be a number from 0 to 255");
        return n
            .trim()
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| bad("bad colour", raw, reason, None));
    }
    let name: String = lower
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .replace("grey", "gray");
    if let Some((_, colour)) = COLOURS.iter().find(|(n, _)| *n == name) {
        return Ok(*colour);
    }
    if let Ok(n) = name.parse::<u8>() {
        let hint = format!("write `indexed:{n}` for colour {n} of the 256-colour palette");
        return Err(bad("bad colour", raw, None, Some(hint)));
    }
    let names: Vec<&str> = COLOURS.iter().map(|(n, _)| *n).collect();
    Err(bad("unknown colour", raw, None, suggest(&name, &names)))
}

/// `#f80` → `did you mean `#ff8800`?`
fn short_hex_hint(hex: &str) -> Option<String> {
    let short = hex.len() == 3 && hex.chars().all(|c| c.is_ascii_hexdigit());
    short.then(|| {
        let long: String = hex.chars().flat_map(|c| [c, c]).collect();
        format!("did you mean `#{long}`?")
    })
}

/// "a string", "an integer", … for "found …" messages.
fn found(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_in_every_accepted_form() {
        assert_eq!(parse_colour("red"), Ok(Color::Red));
        assert_eq!(parse_colour("Dark-Grey"), Ok(Color::DarkGray));
        assert_eq!(parse_colour("light_blue"), Ok(Color::LightBlue));
        assert_eq!(parse_colour("#fab387"), Ok(Color::Rgb(0xfa, 0xb3, 0x87)));
        assert_eq!(parse_colour("indexed:208"), Ok(Color::Indexed(208)));
        assert_eq!(parse_colour("reset"), Ok(Color::Reset));
    }

    #[test]
    fn bad_colours_say_why_and_hint() {
        let e = parse_colour("#f80").unwrap_err();
        assert_eq!(e.what, "bad colour `#f80`");
        assert_eq!(e.reason, Some("`#` must be followed by 6 hex digits"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `#ff8800`?"));
        let e = parse_colour("indexed:300").unwrap_err();
        assert!(e.reason.unwrap_or_default().contains("0 to 255"));
        let e = parse_colour("yelow").unwrap_err();
        assert_eq!(e.what, "unknown colour `yelow`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `yellow`?"));
        let e = parse_colour("purple").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `magenta`?"));
        let e = parse_colour("208").unwrap_err();
        assert!(e.hint.unwrap_or_default().contains("indexed:208"));
        assert!(parse_colour("#gg0000").is_err());
        assert!(parse_colour("#ffé000").is_err());
    }
}
