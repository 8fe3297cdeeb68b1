//! SGR (Select Graphic Rendition) interpretation: parameters → a [`Pen`] (the current
//! graphic state), and a [`Pen`] → canonical SGR text or a ratatui [`Style`].

use ratatui::style::{Color, Modifier, Style};
use std::fmt::Write as _;

/// The graphic state relative to the "default" (which `to_line` maps to its base style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pen {
    pub(crate) fg: Option<Color>,
    pub(crate) bg: Option<Color>,
    pub(crate) mods: Modifier,
}

const NORMAL: [Color; 8] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
];

const BRIGHT: [Color; 8] = [
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// Attributes kept in the pen (and re-emitted by `sanitize`) but never rendered by `to_line`.
const NOT_RENDERED: Modifier = Modifier::SLOW_BLINK
    .union(Modifier::RAPID_BLINK)
    .union(Modifier::HIDDEN);

/// Parses a decimal parameter; empty means 0. Saturates instead of overflowing.
fn num(s: &str) -> Option<u32> {
    let mut acc: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        acc = acc.saturating_mul(10).saturating_add(u32::from(b - b'0'));
    }
    Some(acc)
}

fn byte(s: Option<&str>) -> Option<u8> {
    s.and_then(num).and_then(|n| u8::try_from(n).ok())
}

/// Extended colour after `38`/`48`/`58` in the semicolon form: `5;N` or `2;R;G;B`.
/// Consumes the parameters it uses even when they are invalid.
fn semicolon_color<'a>(groups: &mut impl Iterator<Item = &'a str>) -> Option<Color> {
    match groups.next().and_then(num)? {
        5 => byte(groups.next()).map(Color::Indexed),
        2 => {
            let (r, g, b) = (groups.next(), groups.next(), groups.next());
            Some(Color::Rgb(byte(r)?, byte(g)?, byte(b)?))
        }
        _ => None,
    }
}

/// Extended colour in the colon form: `5:N`, `2:R:G:B` or `2:CS:R:G:B` (CS may be empty).
fn colon_color<'a>(mut subs: impl Iterator<Item = &'a str>) -> Option<Color> {
    match subs.next().and_then(num)? {
        5 => byte(subs.next()).map(Color::Indexed),
        2 => {
            let mut v: [Option<&str>; 4] = [None; 4];
            let mut n = 0;
            for s in subs.by_ref().take(4) {
                v[n] = Some(s);
                n += 1;
            }
            let rgb = if n == 4 { &v[1..4] } else { &v[0..3] };
            Some(Color::Rgb(byte(rgb[0])?, byte(rgb[1])?, byte(rgb[2])?))
        }
        _ => None,
    }
}

impl Pen {
    /// Applies the parameters of one SGR sequence (`[0-9;:]*`, as reported by the lexer).
    /// Unknown or malformed parameters are ignored.
    pub(crate) fn apply(&mut self, params: &str) {
        let mut groups = params.split(';');
        while let Some(group) = groups.next() {
            if group.contains(':') {
                self.apply_colon(group);
                continue;
            }
            match num(group) {
                Some(38) => {
                    if let Some(c) = semicolon_color(&mut groups) {
                        self.fg = Some(c);
                    }
                }
                Some(48) => {
                    if let Some(c) = semicolon_color(&mut groups) {
                        self.bg = Some(c);
                    }
                }
                // Underline colour: not rendered, but its parameters must be consumed.
                Some(58) => {
                    let _ = semicolon_color(&mut groups);
                }
                Some(code) => self.apply_code(code),
                None => {}
            }
        }
    }

    fn apply_colon(&mut self, group: &str) {
        let mut subs = group.split(':');
        match subs.next().and_then(num) {
            Some(38) => {
                if let Some(c) = colon_color(subs) {
                    self.fg = Some(c);
                }
            }
            Some(48) => {
                if let Some(c) = colon_color(subs) {
                    self.bg = Some(c);
                }
            }
            // `4:0` no underline, `4:1`…`4:5` single/double/curly/dotted/dashed → underline.
            Some(4) => match subs.next().and_then(num) {
                Some(0) => self.mods.remove(Modifier::UNDERLINED),
                Some(1..=5) => self.mods.insert(Modifier::UNDERLINED),
                _ => {}
            },
            _ => {}
        }
    }

    fn apply_code(&mut self, code: u32) {
        let m = &mut self.mods;
        match code {
            0 => *self = Pen::default(),
            1 => m.insert(Modifier::BOLD),
            2 => m.insert(Modifier::DIM),
            3 => m.insert(Modifier::ITALIC),
            4 => m.insert(Modifier::UNDERLINED),
            5 => m.insert(Modifier::SLOW_BLINK),
            6 => m.insert(Modifier::RAPID_BLINK),
            7 => m.insert(Modifier::REVERSED),
            8 => m.insert(Modifier::HIDDEN),
            9 => m.insert(Modifier::CROSSED_OUT),
            21 => m.remove(Modifier::BOLD),
            22 => m.remove(Modifier::BOLD | Modifier::DIM),
            23 => m.remove(Modifier::ITALIC),
            24 => m.remove(Modifier::UNDERLINED),
            25 => m.remove(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK),
            27 => m.remove(Modifier::REVERSED),
            28 => m.remove(Modifier::HIDDEN),
            29 => m.remove(Modifier::CROSSED_OUT),
            30..=37 => self.fg = NORMAL.get(code as usize - 30).copied(),
            39 => self.fg = None,
            40..=47 => self.bg = NORMAL.get(code as usize - 40).copied(),
            49 => self.bg = None,
            90..=97 => self.fg = BRIGHT.get(code as usize - 90).copied(),
            100..=107 => self.bg = BRIGHT.get(code as usize - 100).copied(),
            _ => {}
        }
    }

    /// The pen as `to_line` sees it: blinking and hidden are not rendered.
    pub(crate) fn rendered(self) -> Pen {
        Pen {
            mods: self.mods.difference(NOT_RENDERED),
            ..self
        }
    }

    /// The ratatui style of text drawn with this pen over `base` (the default state).
    pub(crate) fn style_on(self, base: Style) -> Style {
        let pen = self.rendered();
        let mut style = base;
        if let Some(fg) = pen.fg {
            style = style.fg(fg);
        }
        if let Some(bg) = pen.bg {
            style = style.bg(bg);
        }
        if !pen.mods.is_empty() {
            style = style.add_modifier(pen.mods);
        }
        style
    }

    /// Appends the SGR sequence that changes the terminal state from `from` to `self`.
    pub(crate) fn write_transition(&self, from: &Pen, out: &mut String) {
        if *self == Pen::default() {
            out.push_str("\x1b[0m");
            return;
        }
        out.push_str(if *from == Pen::default() { "\x1b[" } else { "\x1b[0;" });
        let mut first = true;
        let mut code = |out: &mut String, s: std::fmt::Arguments<'_>| {
            if !first {
                out.push(';');
            }
            first = false;
            let _ = out.write_fmt(s);
        };
        const ATTRS: [(Modifier, u8); 9] = [
            (Modifier::BOLD, 1),
            (Modifier::DIM, 2),
            (Modifier::ITALIC, 3),
            (Modifier::UNDERLINED, 4),
            (Modifier::SLOW_BLINK, 5),
            (Modifier::RAPID_BLINK, 6),
            (Modifier::REVERSED, 7),
            (Modifier::HIDDEN, 8),
            (Modifier::CROSSED_OUT, 9),
        ];
        for (m, n) in ATTRS {
            if self.mods.contains(m) {
                code(out, format_args!("{n}"));
            }
        }
        for (color, base) in [(self.fg, 30u8), (self.bg, 40u8)] {
            match color {
                Some(Color::Indexed(i)) => code(out, format_args!("{}8;5;{i}", base / 10)),
                Some(Color::Rgb(r, g, b)) => code(out, format_args!("{}8;2;{r};{g};{b}", base / 10)),
                Some(c) => {
                    if let Some(i) = NORMAL.iter().position(|&n| n == c) {
                        code(out, format_args!("{}", usize::from(base) + i));
                    } else if let Some(i) = BRIGHT.iter().position(|&n| n == c) {
                        code(out, format_args!("{}", usize::from(base) + 60 + i));
                    }
                }
                None => {}
            }
        }
        out.push('m');
    }
}
