//! Ordering of the stage DAG and cycle detection (for `needs` and `promote_from`).

/// Nodes `0..n` in file order; `edges[a]` lists the nodes `a` depends on (must come before `a`).
///
/// Returns a topological order that keeps file order among nodes that are free to go (the
/// lowest-index ready node goes next), and one cycle per strongly connected component that
/// has one (self-loops included), each starting at its lowest-index node and listed in
/// dependency direction: `[a, b]` means a → b → a (a depends on b, b depends on a).
pub(crate) fn order(edges: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = edges.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while let Some(next) = (0..n).find(|&i| !placed[i] && edges[i].iter().all(|&d| d < n && placed[d])) {
        placed[next] = true;
        order.push(next);
    }
    let mut cycles = Vec::new();
    if order.len() < n {
        let reach = reachability(edges);
        let mut in_cycle = vec![false; n];
        for start in 0..n {
            if in_cycle[start] || !reach[start][start] {
                continue;
            }
            let component: Vec<usize> = (0..n).filter(|&j| reach[start][j] && reach[j][start]).collect();
            for &j in &component {
                in_cycle[j] = true;
            }
            if let Some(cycle) = shortest_cycle(edges, start, &component) {
                cycles.push(cycle);
            }
        }
    }
    (order, cycles)
}

/// `reach[a][b]`: b can be reached from a by one or more edges.
fn reachability(edges: &[Vec<usize>]) -> Vec<Vec<bool>> {
    let n = edges.len();
    let mut reach = vec![vec![false; n]; n];
    for (start, row) in reach.iter_mut().enumerate() {
        let mut stack: Vec<usize> = edges[start].iter().copied().filter(|&d| d < n).collect();
        while let Some(node) = stack.pop() {
            if !row[node] {
                row[node] = true;
                stack.extend(edges[node].iter().copied().filter(|&d| d < n));
            }
        }
    }
    reach
}

/// The shortest cycle through `start` within `component` (breadth-first, edges in order).
fn shortest_cycle(edges: &[Vec<usize>], start: usize, component: &[usize]) -> Option<Vec<usize>> {
    let n = edges.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = vec![false; n];
    seen[start] = true;
    while let Some(node) = queue.pop_front() {
        for &next in &edges[node] {
            if next == start {
                let mut cycle = vec![node];
                let mut at = node;
                while let Some(p) = parent[at] {
                    cycle.push(p);
                    at = p;
                }
                if at != start {
                    cycle.push(start);
                }
                cycle.reverse();
                cycle.dedup();
                return Some(cycle);
            }
            if next < n && !seen[next] && component.contains(&next) {
                seen[next] = true;
                parent[next] = Some(node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// `build → package → build` for a cycle `[build, package]`.
pub(crate) fn render_cycle(names: &[&str], cycle: &[usize]) -> String {
    let mut parts: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
    if let Some(&first) = parts.first() {
        parts.push(first);
    }
    parts.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_keeping_file_order() {
        // 0 needs 2, 1 has no needs, 2 has no needs, 3 needs 0 and 1.
        let (order, cycles) = order(&[vec![2], vec![], vec![], vec![0, 1]]);
        assert_eq!(order, vec![1, 2, 0, 3]);
        assert!(cycles.is_empty());
    }

    #[test]
    fn finds_one_cycle_per_component() {
        // 0 → 1 → 2 → 0, 3 → 3 (self), 4 needs 0 (downstream of a cycle, not in one).
        let edges = [vec![1], vec![2], vec![0], vec![3], vec![0]];
        let (order, cycles) = order(&edges);
        assert!(order.is_empty());
        assert_eq!(cycles, vec![vec![0, 1, 2], vec![3]]);
    }

    #[test]
    fn cycle_is_shortest_through_first_node() {
        // 0 → 1 → 2 → 0 and 0 → 2 directly: shortest is 0 → 2 → 0.
        let edges = [vec![1, 2], vec![2], vec![0]];
        let (_, cycles) = order(&edges);
        assert_eq!(cycles, vec![vec![0, 2]]);
        let names = ["build", "test", "package"];
        assert_eq!(render_cycle(&names, &cycles[0]), "build → package → build");
    }

    #[test]
    fn two_separate_cycles() {
        let edges = [vec![1], vec![0], vec![3], vec![2]];
        let (_, cycles) = order(&edges);
        assert_eq!(cycles, vec![vec![0, 1], vec![2, 3]]);
    }
}
