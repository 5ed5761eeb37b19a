//! Lineage: per model, its upstream models and sources and, per output
//! column, the input columns it is computed from.
//!
//! Takes the DAG and a session with the sources registered, plans every
//! model in dependency order (as `validate` does, reading no data) and walks
//! each model's DataFusion `LogicalPlan`: a column's inputs are the
//! `table.column`s of the tables the model reads (upstream models or
//! sources) referenced by the expressions it is computed from, followed
//! through projections, aggregates, windows, joins, unions, CTEs and
//! subqueries, with aliases resolved. Columns that only decide *which* rows
//! (WHERE, HAVING, JOIN ON, IN/EXISTS subqueries) are listed once per model
//! as filter/join inputs. The walk is conservative: every column an
//! expression mentions counts, whether or not it changes the value.
//!
//! Hands on a [`Lineage`], written by every `shoal run` to
//! `<output>/_shoal/lineage.json` and printed by `shoal lineage`.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Distinct, Expr, LogicalPlan};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::engine::locate_error;
use crate::engine::observer::{BoxFuture, RunObserver};
use crate::models::Dag;
use crate::project::Project;
use crate::runlog::RunRecord;
use crate::sink::SinkError;

/// The lineage of every model of a project.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lineage {
    /// The project name from config.
    pub project: String,
    /// The run day the models were rendered for.
    pub ds: String,
    /// When it was computed (UTC, RFC 3339).
    pub generated_at: String,
    /// Per model, by name.
    pub models: BTreeMap<String, ModelLineage>,
}

/// The lineage of one model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelLineage {
    /// The model file, relative to the project.
    pub file: String,
    /// daily, table, view or temp.
    pub materialized: String,
    /// Models it reads.
    pub upstream_models: Vec<String>,
    /// Sources it reads (events, users, deletions).
    pub sources: Vec<String>,
    /// Per output column, in output order: the `table.column`s it is computed from.
    pub columns: Vec<ColumnLineage>,
    /// `table.column`s that decide which rows are kept or matched (WHERE,
    /// HAVING, JOIN ON, IN / EXISTS subqueries) rather than a value.
    pub filter_inputs: Vec<String>,
    /// Why the model could not be planned (no column lineage then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One output column and its inputs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnLineage {
    /// The output column.
    pub name: String,
    /// `table.column`s it is computed from (empty: a constant or count(*)).
    pub inputs: Vec<String>,
}

/// Lineage of every output column of a plan, by position.
type Cols = Vec<BTreeSet<String>>;

#[derive(Default)]
struct Walker {
    filters: BTreeSet<String>,
}

impl Walker {
    fn plan(&mut self, plan: &LogicalPlan) -> Cols {
        match plan {
            LogicalPlan::TableScan(s) => {
                let table = s.table_name.table().to_string();
                let cols: Cols = s
                    .projected_schema
                    .fields()
                    .iter()
                    .map(|f| BTreeSet::from([format!("{table}.{}", f.name())]))
                    .collect();
                for f in &s.filters {
                    let used = self.expr(f, &[(s.projected_schema.as_ref(), &cols)]);
                    self.filters.extend(used);
                }
                cols
            }
            LogicalPlan::Projection(p) => {
                let input = self.plan(&p.input);
                p.expr
                    .iter()
                    .map(|e| self.expr(e, &[(p.input.schema().as_ref(), &input)]))
                    .collect()
            }
            LogicalPlan::Filter(f) => {
                let input = self.plan(&f.input);
                let used = self.expr(&f.predicate, &[(f.input.schema().as_ref(), &input)]);
                self.filters.extend(used);
                input
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.plan(&a.input);
                let scope = [(a.input.schema().as_ref(), &input)];
                let groups: Vec<Expr> = match a.group_expr.as_slice() {
                    [Expr::GroupingSet(gs)] => gs.distinct_expr().into_iter().cloned().collect(),
                    other => other.to_vec(),
                };
                let mut out: Cols = groups.iter().map(|e| self.expr(e, &scope)).collect();
                // a grouping-set id column sits between the keys and the aggregates
                let extra = a
                    .schema
                    .fields()
                    .len()
                    .saturating_sub(groups.len() + a.aggr_expr.len());
                out.extend((0..extra).map(|_| BTreeSet::new()));
                out.extend(a.aggr_expr.iter().map(|e| self.expr(e, &scope)));
                out
            }
            LogicalPlan::Window(w) => {
                let input = self.plan(&w.input);
                let scope = [(w.input.schema().as_ref(), &input)];
                let extra: Cols = w.window_expr.iter().map(|e| self.expr(e, &scope)).collect();
                let mut out = input.clone();
                out.extend(extra);
                out
            }
            LogicalPlan::Join(j) => {
                let left = self.plan(&j.left);
                let right = self.plan(&j.right);
                let scope = [
                    (j.left.schema().as_ref(), &left),
                    (j.right.schema().as_ref(), &right),
                ];
                for (l, r) in &j.on {
                    let a = self.expr(l, &scope);
                    let b = self.expr(r, &scope);
                    self.filters.extend(a);
                    self.filters.extend(b);
                }
                if let Some(f) = &j.filter {
                    let used = self.expr(f, &scope);
                    self.filters.extend(used);
                }
                by_name(j.schema.as_ref(), &scope)
            }
            LogicalPlan::SubqueryAlias(s) => self.plan(&s.input),
            LogicalPlan::Subquery(s) => self.plan(&s.subquery),
            LogicalPlan::Sort(s) => self.plan(&s.input),
            LogicalPlan::Limit(l) => self.plan(&l.input),
            LogicalPlan::Repartition(r) => self.plan(&r.input),
            LogicalPlan::Distinct(Distinct::All(input)) => self.plan(input),
            LogicalPlan::Distinct(Distinct::On(d)) => {
                let input = self.plan(&d.input);
                let scope = [(d.input.schema().as_ref(), &input)];
                d.select_expr.iter().map(|e| self.expr(e, &scope)).collect()
            }
            LogicalPlan::Union(_) | LogicalPlan::RecursiveQuery(_) => {
                let inputs: Vec<Cols> = plan.inputs().into_iter().map(|p| self.plan(p)).collect();
                (0..plan.schema().fields().len())
                    .map(|i| {
                        inputs
                            .iter()
                            .filter_map(|c| c.get(i))
                            .flatten()
                            .cloned()
                            .collect()
                    })
                    .collect()
            }
            LogicalPlan::Values(v) => {
                let empty: Cols = Vec::new();
                let empty_schema = DFSchema::empty();
                let scope = [(&empty_schema, &empty)];
                let mut out: Cols = vec![BTreeSet::new(); v.schema.fields().len()];
                for row in &v.values {
                    for (i, e) in row.iter().enumerate() {
                        let used = self.expr(e, &scope);
                        if let Some(c) = out.get_mut(i) {
                            c.extend(used);
                        }
                    }
                }
                out
            }
            other => {
                // Unnest, extensions, …: a column found by name in an input
                // keeps its lineage; anything else may come from every input.
                let inputs: Vec<(&DFSchema, Cols)> = other
                    .inputs()
                    .into_iter()
                    .map(|p| (p.schema().as_ref(), self.plan(p)))
                    .collect();
                let scope: Vec<(&DFSchema, &Cols)> = inputs.iter().map(|(s, c)| (*s, c)).collect();
                let all: BTreeSet<String> = inputs
                    .iter()
                    .flat_map(|(_, c)| c.iter().flatten().cloned())
                    .collect();
                other
                    .schema()
                    .iter()
                    .map(|(q, f)| {
                        scope
                            .iter()
                            .find_map(|(s, c)| {
                                s.index_of_column_by_name(q, f.name())
                                    .or_else(|| s.index_of_column_by_name(None, f.name()))
                                    .and_then(|i| c.get(i).cloned())
                            })
                            .unwrap_or_else(|| all.clone())
                    })
                    .collect()
            }
        }
    }

    /// The inputs of an expression evaluated over `scope` (one or two
    /// input schemas with their lineage); subqueries add all their columns.
    fn expr(&mut self, e: &Expr, scope: &[(&DFSchema, &Cols)]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for c in e.column_refs() {
            if let Some(set) = resolve(c, scope) {
                out.extend(set.iter().cloned());
            }
        }
        let mut subplans = Vec::new();
        let _ = e.apply(|x| {
            match x {
                Expr::ScalarSubquery(sq) => subplans.push(sq.subquery.clone()),
                Expr::Exists(ex) => subplans.push(ex.subquery.subquery.clone()),
                Expr::InSubquery(i) => subplans.push(i.subquery.subquery.clone()),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
        for p in subplans {
            let cols = self.plan(&p);
            out.extend(cols.into_iter().flatten());
        }
        out
    }
}

fn resolve<'a>(c: &Column, scope: &[(&DFSchema, &'a Cols)]) -> Option<&'a BTreeSet<String>> {
    scope
        .iter()
        .find_map(|(s, cols)| s.maybe_index_of_column(c).and_then(|i| cols.get(i)))
}

/// Output columns of a join, found by qualified name in its inputs.
fn by_name(schema: &DFSchema, scope: &[(&DFSchema, &Cols)]) -> Cols {
    schema
        .iter()
        .map(|(q, f)| {
            scope
                .iter()
                .find_map(|(s, c)| {
                    s.index_of_column_by_name(q, f.name())
                        .and_then(|i| c.get(i).cloned())
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The column lineage of one planned model: output columns in order, and
/// the filter/join inputs.
pub fn of_plan(plan: &LogicalPlan) -> (Vec<ColumnLineage>, Vec<String>) {
    let mut w = Walker::default();
    let cols = w.plan(plan);
    let columns = plan
        .schema()
        .fields()
        .iter()
        .zip(cols)
        .map(|(f, inputs)| ColumnLineage {
            name: f.name().clone(),
            inputs: inputs.into_iter().collect(),
        })
        .collect();
    (columns, w.filters.into_iter().collect())
}

/// Plans every model of `dag` in order in `ctx` (sources registered; each
/// model is registered as an empty table of its schema for the ones after it) and returns the
/// lineage. A model that does not plan gets its error and no columns.
pub async fn compute(ctx: &SessionContext, dag: &Dag, project: &str, ds: &str) -> Lineage {
    let mut models = BTreeMap::new();
    for m in &dag.models {
        let mut entry = ModelLineage {
            file: m.file.clone(),
            materialized: m.header.materialized.as_str().to_string(),
            upstream_models: m.deps.clone(),
            sources: m.sources.clone(),
            columns: vec![],
            filter_inputs: vec![],
            error: None,
        };
        match ctx.sql(&m.sql).await {
            Ok(df) => {
                let (columns, filters) = of_plan(df.logical_plan());
                entry.columns = columns;
                entry.filter_inputs = filters;
                // Stand in for the model with an empty table of its schema,
                // not a view: DataFusion inlines views while planning, and
                // the models after it should stop at this model's columns.
                let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
                let table = datafusion::datasource::empty::EmptyTable::new(schema);
                let _ = ctx.deregister_table(m.name.as_str());
                if let Err(e) = ctx.register_table(m.name.as_str(), std::sync::Arc::new(table)) {
                    entry.error = Some(e.to_string());
                }
            }
            Err(e) => entry.error = Some(locate_error(&m.file, &e)),
        }
        models.insert(m.name.clone(), entry);
    }
    Lineage {
        project: project.to_string(),
        ds: ds.to_string(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        models,
    }
}

/// The lineage of every model of `project` rendered for `ds`: a local
/// planning session (shoal's functions, the sources registered; no data
/// read), also when models run on a Ballista cluster.
pub async fn for_project(project: &Project, ds: NaiveDate) -> crate::Result<Lineage> {
    let dag = project.dag(ds, false, None)?;
    let ctx = crate::engine::session::planning_session(project)?;
    crate::engine::register_sources(project, &ctx).await?;
    Ok(compute(&ctx, &dag, &project.config().project, &ds.to_string()).await)
}

/// Writes `<output>/_shoal/lineage.json` (one put: readers see the old or
/// the new file, never a part).
pub async fn write(project: &Project, lineage: &Lineage) -> Result<(), SinkError> {
    let path = project.output.meta_dir().prefix().join("lineage.json");
    let json = serde_json::to_vec_pretty(lineage).expect("lineage serialises");
    project.output.put(&path, json).await
}

/// Writes `lineage.json` when a run ends, whatever its result: lineage is
/// about the models, not the data, so a failure to plan or write it is a
/// warning, never the run's result.
#[derive(Debug, Clone)]
pub struct LineageWriter {
    project: Project,
}

impl LineageWriter {
    /// The writer of `project`'s `<output>/_shoal/lineage.json`.
    pub fn new(project: &Project) -> Self {
        Self {
            project: project.clone(),
        }
    }
}

impl RunObserver for LineageWriter {
    fn run_finished<'a>(&'a self, record: &'a RunRecord) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match for_project(&self.project, record.ds).await {
                Ok(l) => {
                    if let Err(e) = write(&self.project, &l).await {
                        tracing::warn!("cannot write lineage.json: {e}");
                    }
                }
                Err(e) => tracing::warn!("cannot compute the lineage: {e}"),
            }
        })
    }
}

impl Lineage {
    /// Text for `shoal lineage MODEL` or `MODEL.COLUMN`; `None` when the
    /// model or column does not exist (the caller suggests a name).
    pub fn describe(&self, target: &str) -> Result<String, String> {
        let (model, column) = match target.split_once('.') {
            Some((m, c)) => (m, Some(c)),
            None => (target, None),
        };
        let Some(m) = self.models.get(model) else {
            let hint = crate::models::suggest(model, self.models.keys().map(String::as_str))
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            return Err(format!("no model named {model:?}{hint}"));
        };
        let mut out = String::new();
        match column {
            None => {
                out.push_str(&format!("{model} ({}, {})\n", m.materialized, m.file));
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "-".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                out.push_str(&format!(
                    "  upstream models: {}\n",
                    list(&m.upstream_models)
                ));
                out.push_str(&format!("  sources:         {}\n", list(&m.sources)));
                if let Some(e) = &m.error {
                    out.push_str(&format!("  does not plan:   {e}\n"));
                    return Ok(out);
                }
                out.push_str(&format!("  filter/join:     {}\n", list(&m.filter_inputs)));
                out.push_str("  columns:\n");
                let width = m.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
                for c in &m.columns {
                    out.push_str(&format!(
                        "    {:<width$} <- {}\n",
                        c.name,
                        if c.inputs.is_empty() {
                            "(no input column: a constant or count(*))".to_string()
                        } else {
                            c.inputs.join(", ")
                        }
                    ));
                }
            }
            Some(col) => {
                if !m.columns.iter().any(|c| c.name == col) {
                    let hint =
                        crate::models::suggest(col, m.columns.iter().map(|c| c.name.as_str()))
                            .map(|s| format!(" (did you mean {s:?}?)"))
                            .unwrap_or_default();
                    return Err(format!("model {model:?} has no column {col:?}{hint}"));
                }
                out.push_str(&format!("{model}.{col}\n"));
                let mut seen = BTreeSet::new();
                self.tree(model, col, 1, &mut seen, &mut out);
            }
        }
        Ok(out)
    }

    /// Inputs of `model.col`, then theirs, indented; each column expanded once.
    fn tree(
        &self,
        model: &str,
        col: &str,
        depth: usize,
        seen: &mut BTreeSet<String>,
        out: &mut String,
    ) {
        let Some(inputs) = self
            .models
            .get(model)
            .and_then(|m| m.columns.iter().find(|c| c.name == col))
            .map(|c| &c.inputs)
        else {
            return;
        };
        for input in inputs {
            let pad = "  ".repeat(depth);
            let (table, c) = input.split_once('.').unwrap_or((input, ""));
            let known = self.models.contains_key(table);
            let kind = if known { "" } else { "  (source)" };
            let again = !seen.insert(input.clone());
            out.push_str(&format!(
                "{pad}<- {input}{kind}{}\n",
                if again && known { "  (above)" } else { "" }
            ));
            if known && !again {
                self.tree(table, c, depth + 1, seen, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::empty::EmptyTable;
    use std::sync::Arc;

    async fn lineage_of(sql: &str) -> (Vec<ColumnLineage>, Vec<String>) {
        let ctx = SessionContext::new();
        let ev = Schema::new(vec![
            Field::new("user_id", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("event_type", DataType::Utf8, true),
            Field::new("community_id", DataType::Utf8, true),
        ]);
        let users = Schema::new(vec![
            Field::new("user_id", DataType::Utf8, true),
            Field::new("region", DataType::Utf8, true),
        ]);
        ctx.register_table("stg_events", Arc::new(EmptyTable::new(Arc::new(ev))))
            .unwrap();
        ctx.register_table("users", Arc::new(EmptyTable::new(Arc::new(users))))
            .unwrap();
        let df = ctx.sql(sql).await.unwrap();
        of_plan(df.logical_plan())
    }

    fn get<'a>(cols: &'a [ColumnLineage], name: &str) -> Vec<&'a str> {
        cols.iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .inputs
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[tokio::test]
    async fn aggregates_joins_ctes_and_subqueries() {
        let (cols, filters) = lineage_of(
            "with buys as (select user_id as uid, amount as amt from stg_events where event_type = 'purchase')
             select b.uid as user_id, sum(b.amt) as revenue, max(u.region) as region, count(*) as n,
                    (select count(*) from stg_events s where s.community_id = 'c1') as c1_events,
                    row_number() over (order by sum(b.amt)) as rk
             from buys b left join users u on u.user_id = b.uid
             group by b.uid having sum(b.amt) > 0",
        )
        .await;
        assert_eq!(get(&cols, "user_id"), ["stg_events.user_id"]);
        assert_eq!(get(&cols, "revenue"), ["stg_events.amount"]);
        assert_eq!(get(&cols, "region"), ["users.region"]);
        assert!(get(&cols, "n").is_empty());
        assert!(get(&cols, "c1_events").is_empty());
        assert_eq!(get(&cols, "rk"), ["stg_events.amount"]);
        assert_eq!(
            filters,
            [
                "stg_events.amount",
                "stg_events.community_id",
                "stg_events.event_type",
                "stg_events.user_id",
                "users.user_id"
            ]
        );
    }

    #[tokio::test]
    async fn unions_and_expressions() {
        let (cols, _) = lineage_of(
            "select user_id, amount * 2 + length(community_id) as score from stg_events
             union all select user_id, 0 from users",
        )
        .await;
        assert_eq!(
            get(&cols, "user_id"),
            ["stg_events.user_id", "users.user_id"]
        );
        assert_eq!(
            get(&cols, "score"),
            ["stg_events.amount", "stg_events.community_id"]
        );
    }
}
