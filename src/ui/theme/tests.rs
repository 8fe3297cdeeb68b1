//! Tests of the theme module: the built-in files, resolution, and error messages.
use super::*;
use ratatui::style::{Color, Modifier};

fn no_colour(c: Option<Color>) -> bool {
    matches!(c, None | Some(Color::Reset))
}

#[test]
fn every_builtin_parses_under_its_name() {
    for name in BUILTIN {
        let theme = Theme::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(theme.name, *name);
    }
    assert_eq!(Theme::default(), Theme::builtin("default").unwrap());
}

#[test]
fn every_builtin_file_sets_every_style_itself() {
    for name in BUILTIN {
        let text = builtin_text(name).unwrap();
        let parsed = parse::parse_file(text, name).unwrap();
        let keys: Vec<&str> = parsed.styles.iter().map(|(k, _)| *k).collect();
        for key in STYLE_KEYS {
            assert!(keys.contains(&key), "themes/{name}.toml lacks `{key}`");
        }
        assert_eq!(parsed.name.as_deref(), Some(*name));
    }
}

#[test]
fn style_keys_match_the_struct() {
    let theme = Theme::default();
    let keys: Vec<&str> = theme.styles().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, STYLE_KEYS);
    let mut plain = Theme::plain("x");
    for key in STYLE_KEYS {
        assert!(plain.slot_mut(key).is_some(), "{key}");
    }
}

#[test]
fn mono_has_no_colour_and_tells_statuses_apart() {
    let mono = Theme::builtin("mono").unwrap();
    for (key, style) in mono.styles() {
        assert!(no_colour(style.fg) && no_colour(style.bg), "mono `{key}` has a colour");
        assert!(style.underline_color.is_none(), "mono `{key}`");
    }
    let statuses = ["running", "success", "failed", "cancelled", "skipped", "pending"];
    for (i, a) in statuses.iter().enumerate() {
        for b in &statuses[i + 1..] {
            assert_ne!(mono.status(a), mono.status(b), "mono: {a} looks like {b}");
        }
    }
    assert_eq!(mono.status("failed").add_modifier, Modifier::BOLD | Modifier::REVERSED);
    assert_eq!(mono.status("running").add_modifier, Modifier::BOLD);
    assert_eq!(mono.status("success"), Style::default());
}

#[test]
fn high_contrast_uses_only_the_eight_basic_colours_bold_and_reverse() {
    let hc = Theme::builtin("high-contrast").unwrap();
    let basic = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::White,
    ];
    for (key, style) in hc.styles() {
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(basic.contains(&c), "high-contrast `{key}` uses {c:?}");
        }
        let allowed = Modifier::BOLD | Modifier::REVERSED;
        assert!(allowed.contains(style.add_modifier), "high-contrast `{key}`");
    }
}

#[test]
fn status_words_map_to_meanings() {
    let t = Theme::default();
    assert_eq!(t.status("running"), t.running);
    assert_eq!(t.status("success"), t.success);
    assert_eq!(t.status("failed"), t.failure);
    assert_eq!(t.status("timed_out"), t.failure);
    assert_eq!(t.status("cancelled"), t.cancelled);
    assert_eq!(t.status("skipped"), t.skipped);
    assert_eq!(t.status("pending"), t.pending);
    assert_eq!(t.status("queued"), t.pending);
    assert_eq!(t.status("whatever"), t.text);
}

fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("themes")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("themes").join(name), text).unwrap();
    }
    dir
}

#[test]
fn user_theme_overrides_and_falls_back_to_default() {
    let dir = user_dir(&[
        ("ocean.toml", "[styles]\nfailure = { fg = \"#ff0000\" }\n"),
        ("light.toml", "name = \"mine\"\n[styles]\ntext = { fg = \"blue\" }\n"),
    ]);
    let default = Theme::default();
    let ocean = Theme::resolve(Some("ocean"), Some(dir.path()), false).unwrap();
    assert_eq!(ocean.name, "ocean");
    assert_eq!(ocean.failure, Style::new().fg(Color::Rgb(255, 0, 0)));
    assert_eq!(ocean.running, default.running);
    assert_eq!(ocean.selection, default.selection);
    // A user file beats the built-in of the same name; missing styles come from default.
    let light = Theme::resolve(Some("light"), Some(dir.path()), false).unwrap();
    assert_eq!(light.name, "light");
    assert_eq!(light.text, Style::new().fg(Color::Blue));
    assert_eq!(light.success, default.success);
    // No user dir, or no file there: the built-in.
    let builtin = Theme::resolve(Some("light"), None, false).unwrap();
    assert_eq!(builtin, Theme::builtin("light").unwrap());
    let hc = Theme::resolve(Some("high-contrast"), Some(dir.path()), false).unwrap();
    assert_eq!(hc, Theme::builtin("high-contrast").unwrap());
}

#[test]
fn unknown_theme_lists_valid_names_and_suggests() {
    let err = Theme::resolve(Some("ligth"), None, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown theme `ligth`: valid themes are default, light, high-contrast, mono\n  \
         hint: did you mean `light`?"
    );
    let dir = user_dir(&[("ocean.toml", "")]);
    let err = Theme::resolve(Some("ocaen"), Some(dir.path()), false).unwrap_err();
    let msg = err.to_string();
    let themes = dir.path().join("themes");
    assert!(
        msg.starts_with(&format!(
            "unknown theme `ocaen`: valid themes are default, light, high-contrast, mono, \
             ocean (and user themes in {}/)",
            tilde(&themes)
        )),
        "{msg}"
    );
    assert!(msg.ends_with("did you mean `ocean`?"), "{msg}");
    let err = Theme::resolve(Some("dark"), None, false).unwrap_err();
    assert!(err.to_string().ends_with("did you mean `default`?"), "{err}");
    let err = Theme::resolve(Some("zzzzzz"), None, false).unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
    // Paths are not theme names.
    let err = Theme::resolve(Some("../themes/ocean"), Some(dir.path()), false).unwrap_err();
    assert!(matches!(err, ThemeError::UnknownTheme { .. }), "{err}");
}

#[test]
fn home_is_shown_as_tilde() {
    if let Some(home) = std::env::var_os("HOME") {
        let path = PathBuf::from(home).join(".config/shipdeck/themes");
        assert_eq!(tilde(&path), "~/.config/shipdeck/themes");
    }
}

#[test]
fn no_color_selects_mono_unless_a_theme_was_requested() {
    let mono = Theme::builtin("mono").unwrap();
    assert_eq!(Theme::resolve(None, None, true).unwrap(), mono);
    assert_eq!(Theme::resolve(None, None, false).unwrap(), Theme::default());
    let light = Theme::resolve(Some("light"), None, true).unwrap();
    assert_eq!(light.name, "light");
    // A user `default.toml` is used when nothing is requested.
    let dir = user_dir(&[("default.toml", "[styles]\ntext = { fg = \"white\" }\n")]);
    let mine = Theme::resolve(None, Some(dir.path()), false).unwrap();
    assert_eq!(mine.text, Style::new().fg(Color::White));
    assert_eq!(Theme::resolve(None, Some(dir.path()), true).unwrap(), mono);
}

#[test]
fn bad_colour_is_reported_at_file_line_col() {
    let text = "name = \"x\"\n[styles]\nfailure = { fg = \"rde\" }\n";
    let err = Theme::parse(text, "x.toml").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("x.toml:3:18: unknown colour `rde` in `failure.fg`: a colour is"),
        "{msg}"
    );
    assert!(msg.contains("`#rrggbb`") && msg.contains("indexed:N"), "{msg}");
    assert!(msg.ends_with("hint: did you mean `red`?"), "{msg}");
}

#[test]
fn unknown_keys_are_reported_at_file_line_col_with_the_closest_key() {
    let cases = [
        (
            "[styles]\nsucess = { fg = \"green\" }\n",
            "x.toml:2:1: unknown style `sucess`",
            "`success`",
        ),
        (
            "[styles]\nerror = {}\n",
            "x.toml:2:1: unknown style `error`",
            "`failure`",
        ),
        (
            "[styles]\ntext = { fg = \"red\", bgg = \"red\" }\n",
            "x.toml:2:22: unknown field `bgg`",
            "`bg`",
        ),
        (
            "[styles]\ntext = { modifiers = [\"bold\", \"underline\"] }\n",
            "x.toml:2:31: unknown modifier `underline`",
            "`underlined`",
        ),
        ("nmae = \"x\"\n", "x.toml:1:1: unknown key `nmae`", "`name`"),
        ("failure = {}\n", "x.toml:1:1: unknown key `failure`", "[styles]"),
    ];
    for (text, start, hint) in cases {
        let msg = Theme::parse(text, "x.toml").unwrap_err().to_string();
        assert!(msg.starts_with(start), "{msg}");
        assert!(msg.contains("\n  hint: ") && msg.contains(hint), "{msg}");
    }
}

#[test]
fn wrong_types_and_toml_syntax_errors_have_positions() {
    let cases = [
        ("[styles]\ntext = \"red\"\n", "x.toml:2:8: style `text` must be a table"),
        (
            "[styles]\ntext = { fg = 1 }\n",
            "x.toml:2:15: `text.fg` must be a colour string",
        ),
        (
            "[styles]\ntext = { modifiers = \"bold\" }\n",
            "x.toml:2:22: `text.modifiers` must be a list",
        ),
        ("styles = 3\n", "x.toml:1:10: `styles` must be a table"),
        ("[styles]\ntext = { fg = \"red\"\n", "x.toml:2:"),
        ("[styles]\ntext = {}\ntext = {}\n", "x.toml:3:"),
    ];
    for (text, start) in cases {
        let msg = Theme::parse(text, "x.toml").unwrap_err().to_string();
        assert!(msg.starts_with(start), "{msg}");
    }
}

#[test]
fn bad_user_theme_names_its_file() {
    let dir = user_dir(&[("ocean.toml", "[styles]\nfailure = { bg = \"#12345\" }\n")]);
    let msg = Theme::resolve(Some("ocean"), Some(dir.path()), false)
        .unwrap_err()
        .to_string();
    let file = dir.path().join("themes/ocean.toml");
    assert!(
        msg.starts_with(&format!(
            "{}:2:18: bad colour `#12345` in `failure.bg`: `#` must be followed by 6 hex \
             digits; a colour is",
            file.display()
        )),
        "{msg}"
    );
}

#[test]
fn parse_takes_the_name_from_the_file_or_its_stem() {
    let t = Theme::parse("[styles]\n", "/x/sunset.toml").unwrap();
    assert_eq!(t.name, "sunset");
    assert_eq!(t.failure, Theme::default().failure);
    let t = Theme::parse("name = \"dusk\"\n[styles.failure]\nfg = \"indexed:196\"\n", "a.toml").unwrap();
    assert_eq!(t.name, "dusk");
    assert_eq!(t.failure, Style::new().fg(Color::Indexed(196)));
}
