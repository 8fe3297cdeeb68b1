//! `memory`, `cpus` and `pids`: a stage container's resource limits, per stage or as
//! defaults in `[app]`.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::model::StageLimits;
use crate::config::reader::Table;

/// Docker refuses less memory than this for a container.
const MIN_MEMORY: u64 = 6 << 20;
const MAX_PIDS: u64 = 4_194_304;

/// The limits set in `t`, each falling back to `base`.
pub(crate) fn read_limits(sink: &mut Sink<'_>, t: &Table<'_, '_>, base: StageLimits) -> StageLimits {
    let mut limits = base;
    if let Some(memory) = t.size(sink, "memory") {
        if memory < MIN_MEMORY {
            let at = t.get("memory").map_or(t.at(), |v| v.span().start);
            let message = "expected at least 6MiB: Docker refuses less for a container";
            t.invalid(sink, at, "memory", message, None);
        } else {
            limits.memory = memory;
        }
    }
    if let Some(millicpus) = read_cpus(sink, t) {
        limits.millicpus = millicpus;
    }
    if let Some(pids) = t.uint(sink, "pids", MAX_PIDS) {
        if pids == 0 {
            let at = t.get("pids").map_or(t.at(), |v| v.span().start);
            let hint = "a stage needs at least its shell and one command; e.g. pids = 256";
            t.invalid(sink, at, "pids", "expected 1 or more, found 0", Some(hint.into()));
        } else {
            limits.pids = pids;
        }
    }
    limits
}

/// `cpus = 1.5` or `cpus = 2`, in thousandths of a CPU.
fn read_cpus(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<u64> {
    let value = t.get("cpus")?;
    let text = match value.get_ref() {
        DeValue::Integer(i) if i.radix() == 10 => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::String(s) if s.parse::<f64>().is_ok() => {
            let hint = format!("write cpus = {s}, without quotes");
            t.wrong_type_hint(sink, "cpus", value, "a number of CPUs like 1.5", Some(hint));
            return None;
        }
        _ => {
            t.wrong_type(sink, "cpus", value, "a number of CPUs like 1.5");
            return None;
        }
    };
    let cpus: f64 = text.replace('_', "").parse().ok()?;
    if !(0.01..=1024.0).contains(&cpus) {
        let message = format!("expected a number of CPUs from 0.01 to 1024, found {text}");
        t.invalid(sink, value.span().start, "cpus", &message, None);
        return None;
    }
    Some((cpus * 1000.0).round() as u64)
}

/// `memory 2GiB · 2 CPUs · 1024 processes`, as `check` shows it; an image build has no
/// process limit (the engine's build API has none).
pub(crate) fn describe_limits(limits: &StageLimits, build: bool) -> String {
    let cpus = limits.millicpus as f64 / 1000.0;
    let mut text = format!(
        "memory {} · {cpus} {}",
        crate::config::size::format_size(limits.memory),
        if limits.millicpus == 1000 { "CPU" } else { "CPUs" },
    );
    if !build {
        text.push_str(&format!(" · {} processes", limits.pids));
    }
    text
}
