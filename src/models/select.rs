//! Selection: `--select` and `--exclude` selectors (`NAME`, `NAME+`,
//! `+NAME`, `tag:TAG`, comma-separated) resolved against the DAG.

use std::collections::BTreeSet;

use super::{Dag, ModelError, suggest, valid_name};

impl Dag {
    /// The models chosen by `select` (all when empty) minus `exclude`.
    pub fn select(
        &self,
        select: &[String],
        exclude: &[String],
    ) -> Result<BTreeSet<String>, ModelError> {
        let mut chosen: BTreeSet<String> = if select.is_empty() {
            self.models.iter().map(|m| m.name.clone()).collect()
        } else {
            let mut s = BTreeSet::new();
            for sel in select.iter().flat_map(|s| split_selectors(s)) {
                s.extend(self.resolve_selector(&sel)?);
            }
            s
        };
        for sel in exclude.iter().flat_map(|s| split_selectors(s)) {
            for n in self.resolve_selector(&sel)? {
                chosen.remove(&n);
            }
        }
        Ok(chosen)
    }

    fn resolve_selector(&self, sel: &str) -> Result<BTreeSet<String>, ModelError> {
        let err = |message: String| ModelError::Selector {
            selector: sel.to_string(),
            message,
        };
        if let Some(tag) = sel.strip_prefix("tag:") {
            if tag.is_empty() {
                return Err(err("empty tag".into()));
            }
            if !valid_name(tag) {
                return Err(err(format!(
                    "{tag:?} is not a tag: {}",
                    crate::names::NOT_A_PATH
                )));
            }
            let s: BTreeSet<String> = self
                .models
                .iter()
                .filter(|m| m.header.tags.iter().any(|t| t == tag))
                .map(|m| m.name.clone())
                .collect();
            if s.is_empty() {
                return Err(err(format!("no model has tag {tag:?}")));
            }
            return Ok(s);
        }
        let up = sel.starts_with('+');
        let down = sel.ends_with('+');
        let name = sel.trim_start_matches('+').trim_end_matches('+');
        if !valid_name(name) {
            return Err(err(format!(
                "expected NAME, NAME+, +NAME, +NAME+ or tag:TAG; {}",
                crate::names::NOT_A_PATH
            )));
        }
        if self.get(name).is_none() {
            let hint = suggest(name, self.models.iter().map(|m| m.name.as_str()))
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            return Err(err(format!("no model named {name:?}{hint}")));
        }
        let mut s = BTreeSet::from([name.to_string()]);
        if up {
            s.extend(self.upstream(name));
        }
        if down {
            s.extend(self.downstream(name));
        }
        Ok(s)
    }
}

fn split_selectors(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}
