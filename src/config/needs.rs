//! `needs` between stages: references, duplicates, cycles, and the resulting run order.

use crate::config::diagnostic::Sink;
use crate::config::graph;
use crate::config::hint::did_you_mean;
use crate::config::model::StageConfig;
use crate::config::stages::ParsedStage;

/// Checks `needs` (defined, not itself, no duplicates, no cycles) and returns the stages in
/// pipeline order.
pub(crate) fn order_stages(sink: &mut Sink<'_>, stages: Vec<ParsedStage>) -> Vec<StageConfig> {
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    let mut edges: Vec<Vec<usize>> = Vec::new();
    for stage in &stages {
        let this = stage.name.as_str();
        let mut deps = Vec::new();
        for (i, need) in stage.needs.iter().enumerate() {
            let need_name = need.get_ref().as_str();
            let at = need.span().start;
            if stage.needs[..i].iter().any(|n| n.get_ref() == need_name) {
                sink.error(
                    at,
                    format!("`{need_name}` is listed twice in `needs` of [stages.{this}]"),
                    Some("remove the duplicate".into()),
                );
            } else if need_name == this {
                sink.error(
                    at,
                    format!("stage `{this}` needs itself"),
                    Some(format!("remove `{this}` from its own `needs`")),
                );
            } else if let Some(index) = names.iter().position(|n| *n == need_name) {
                deps.push(index);
            } else {
                let hint = did_you_mean(need_name, names.iter().copied().filter(|n| *n != this))
                    .or_else(|| Some(format!("defined stages: {}", names.join(", "))));
                sink.error(
                    at,
                    format!("stage `{this}` needs `{need_name}`, which is not defined"),
                    hint,
                );
            }
        }
        edges.push(deps);
    }
    let (order, cycles) = graph::order(&edges);
    for cycle in &cycles {
        let (first, second) = (cycle[0], cycle[1 % cycle.len()]);
        let at = stages[first]
            .needs
            .iter()
            .find(|n| n.get_ref() == names[second])
            .map_or(stages[first].header.start, |n| n.span().start);
        sink.error(
            at,
            format!("cycle in needs: {}", graph::render_cycle(&names, cycle)),
            Some("stages run after the stages they need: remove one of these `needs` entries".into()),
        );
    }
    let mut slots: Vec<Option<StageConfig>> = stages.into_iter().map(|s| s.config).collect();
    let mut out: Vec<StageConfig> = order.iter().filter_map(|&i| slots[i].take()).collect();
    out.extend(slots.into_iter().flatten());
    for stage in &mut out {
        let mut seen = Vec::new();
        stage.needs.retain(|n| {
            let keep = !seen.contains(n);
            seen.push(n.clone());
            keep
        });
    }
    out
}
