//! Helpers for the model-pack tests: a project with deletions, fixture
//! builders and row comparison with a float tolerance.

use crate::common::{CONFIG, Ev, TempProject, ev};

/// The repository's models with `deletions` read from CSV (user `u5` deleted).
pub fn project() -> TempProject {
    let p = TempProject::with_repo_models();
    p.write(
        "data/deletions/deletions.csv",
        "user_id,requested_at\nu5,2026-11-01T00:00:00Z\n",
    );
    p.write(
        "config/shoal.yaml",
        &CONFIG.replace(
            "deletions: { location: data/deletions, optional: true }",
            "deletions: { location: data/deletions, optional: true, format: csv }",
        ),
    );
    p
}

/// An event in community `c` (None: the NULL community), session `s` (None: derived).
pub fn evc(
    id: &'static str,
    time: &'static str,
    user: &'static str,
    kind: &'static str,
    c: Option<&'static str>,
    s: Option<&'static str>,
) -> Ev {
    Ev {
        community: c,
        session: s,
        ..ev(id, time, user, kind)
    }
}

/// Sets the amount of an event.
pub fn with_amount(e: Ev, a: Option<f64>) -> Ev {
    Ev { amount: a, ..e }
}

/// Sets the order_id of an event.
pub fn with_order(e: Ev, o: &'static str) -> Ev {
    Ev {
        order: Some(o),
        ..e
    }
}

/// Sets the referrer of an event.
pub fn with_referrer(e: Ev, r: &'static str) -> Ev {
    Ev {
        referrer: Some(r),
        ..e
    }
}

/// Runs every day in `days` in order (each needs an events partition).
pub fn run_days(p: &TempProject, days: &[&str]) {
    for d in days {
        p.shoal(&["run", "--ds", d]).expect_code(0);
    }
}

fn cells(line: &str) -> Vec<(String, String)> {
    // values never contain " x=" sequences in these fixtures except free text,
    // so split on the known `name=` boundaries
    let mut out: Vec<(String, String)> = vec![];
    for tok in line.split(' ') {
        match tok.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
            {
                out.push((k.to_string(), v.to_string()))
            }
            _ => {
                let last = out.last_mut().expect("a value before free text");
                last.1.push(' ');
                last.1.push_str(tok);
            }
        }
    }
    out
}

fn same(a: &str, e: &str) -> bool {
    if a == e {
        return true;
    }
    match (a.parse::<f64>(), e.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9,
        _ => false,
    }
}

/// Asserts that `actual` (lines of `name=value`) has exactly the expected
/// rows, comparing only the columns named in each expected line; numbers
/// within 1e-9.
pub fn assert_rows(actual: &[String], expected: &[String]) {
    let fail = |why: String| -> ! {
        panic!(
            "{why}\n--- actual\n{}\n--- expected\n{}",
            actual.join("\n"),
            expected.join("\n")
        )
    };
    if actual.len() != expected.len() {
        fail(format!(
            "{} rows, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let a = cells(a);
        for (k, v) in cells(e) {
            let Some((_, got)) = a.iter().find(|(n, _)| *n == k) else {
                fail(format!("row {i}: no column {k}"));
            };
            if !same(got, &v) {
                fail(format!("row {i}: {k}={got}, expected {v}"));
            }
        }
    }
}

/// An event in community c1 with no content.
pub fn c1_event(id: &'static str, t: &'static str, u: &'static str, k: &'static str) -> Ev {
    evc(id, t, u, k, Some("c1"), None)
}

/// Writes `(partition day, event)` pairs grouped by partition and runs
/// 2026-11-21 as a full refresh.
pub fn run_full_refresh(evs: Vec<(&'static str, Ev)>) -> TempProject {
    run_full_refresh_at("2026-11-21", evs)
}

/// Writes `(partition day, event)` pairs grouped by partition and runs day
/// `ds` as a full refresh.
pub fn run_full_refresh_at(ds: &str, evs: Vec<(&'static str, Ev)>) -> TempProject {
    run_full_refresh_in(project(), ds, evs)
}

/// [`run_full_refresh_at`] in a given project (e.g. one with other vars).
pub fn run_full_refresh_in(p: TempProject, ds: &str, evs: Vec<(&'static str, Ev)>) -> TempProject {
    let mut days: std::collections::BTreeMap<&str, Vec<Ev>> = Default::default();
    for (d, e) in evs {
        days.entry(d).or_default().push(e);
    }
    for (d, evs) in &days {
        p.events(d, "a", evs);
    }
    p.shoal(&["run", "--ds", ds, "--full-refresh"])
        .expect_code(0);
    p
}
