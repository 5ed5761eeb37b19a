//! The DAG: render every model, infer its edges from the tables it reads,
//! order models so each comes after what it reads, and name any cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::header::parse_header;
use super::template::{TemplateContext, render};
use super::{Model, ModelError, SOURCES, parse::table_references, suggest};

/// Models in dependency order.
#[derive(Debug, Clone)]
pub struct Dag {
    /// Topologically sorted (ties by name).
    pub models: Vec<Model>,
}

impl Dag {
    /// Renders every model with `ctx`, infers edges, checks names and cycles.
    pub fn build(mut models: Vec<Model>, ctx: &TemplateContext) -> Result<Dag, ModelError> {
        let names: BTreeSet<String> = models.iter().map(|m| m.name.clone()).collect();
        let mut positions: HashMap<(String, String), (usize, usize)> = HashMap::new();
        for m in &mut models {
            m.sql = render(&m.file, &m.text, ctx)?;
            // The header is templated too (e.g. a test threshold from a var).
            m.header = parse_header(&m.file, &m.sql)?;
            let refs = table_references(&m.file, &m.sql)?;
            m.deps.clear();
            m.sources.clear();
            for (t, line, column) in refs {
                positions.insert((m.name.clone(), t.clone()), (line, column));
                if names.contains(&t) {
                    if t == m.name {
                        return Err(ModelError::At {
                            file: m.file.clone(),
                            line,
                            column,
                            message: format!("model {t:?} reads itself"),
                        });
                    }
                    m.deps.push(t);
                } else if SOURCES.contains(&t.as_str()) {
                    m.sources.push(t);
                } else {
                    let all = names.iter().map(String::as_str).chain(SOURCES);
                    let hint = suggest(&t, all)
                        .map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default();
                    return Err(ModelError::At {
                        file: m.file.clone(),
                        line,
                        column,
                        message: format!(
                            "unknown table {t:?}{hint}; tables are models in sql/ and the sources events, users, deletions"
                        ),
                    });
                }
            }
            if let Some(up) = m
                .header
                .reads_previous_day
                .iter()
                .find(|up| !m.deps.contains(up))
            {
                return Err(ModelError::At {
                    file: m.file.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "header reads_previous_day names {up:?}, which the model's SQL does not read; name the upstream models whose ds - 1 partition it reads"
                    ),
                });
            }
        }
        // Kahn's algorithm, smallest name first for a stable order.
        let by_name: BTreeMap<String, Model> =
            models.into_iter().map(|m| (m.name.clone(), m)).collect();
        let mut indegree: BTreeMap<&str, usize> = by_name
            .values()
            .map(|m| (m.name.as_str(), m.deps.len()))
            .collect();
        let mut ready: BTreeSet<&str> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        let mut order: Vec<String> = Vec::new();
        while let Some(n) = ready.pop_first() {
            order.push(n.to_string());
            for m in by_name.values() {
                if m.deps.iter().any(|d| d == n) {
                    let d = indegree.get_mut(m.name.as_str()).expect("known model");
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(m.name.as_str());
                    }
                }
            }
        }
        if order.len() < by_name.len() {
            let done: BTreeSet<&str> = order.iter().map(String::as_str).collect();
            let cycle = find_cycle(&by_name, &done);
            let first = &by_name[&cycle[0]];
            let (line, column) = positions
                .get(&(cycle[0].clone(), cycle[1].clone()))
                .copied()
                .unwrap_or((1, 1));
            return Err(ModelError::At {
                file: first.file.clone(),
                line,
                column,
                message: format!("dependency cycle: {}", cycle.join(" -> ")),
            });
        }
        let mut by_name = by_name;
        let models = order
            .into_iter()
            .map(|n| by_name.remove(&n).expect("ordered model exists"))
            .collect();
        Ok(Dag { models })
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Names of models that `name` depends on, transitively.
    pub fn upstream(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(n) = stack.pop() {
            if let Some(m) = self.get(&n) {
                for d in &m.deps {
                    if out.insert(d.clone()) {
                        stack.push(d.clone());
                    }
                }
            }
        }
        out
    }

    /// Names of models that depend on `name`, transitively.
    pub fn downstream(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![name.to_string()];
        while let Some(n) = stack.pop() {
            for m in &self.models {
                if m.deps.contains(&n) && out.insert(m.name.clone()) {
                    stack.push(m.name.clone());
                }
            }
        }
        out
    }
}

fn find_cycle(by_name: &BTreeMap<String, Model>, done: &BTreeSet<&str>) -> Vec<String> {
    // Walk deps among the unfinished models until a name repeats.
    let start = by_name
        .keys()
        .find(|n| !done.contains(n.as_str()))
        .expect("a model in the cycle");
    let mut path = vec![start.clone()];
    loop {
        let cur = &by_name[path.last().expect("non-empty")];
        let next = cur
            .deps
            .iter()
            .find(|d| !done.contains(d.as_str()))
            .expect("an unfinished model has an unfinished dependency")
            .clone();
        if let Some(i) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<String> = path[i..].to_vec();
            cycle.push(next);
            return cycle;
        }
        path.push(next);
    }
}
