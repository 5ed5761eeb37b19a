//! Tests of the shape of the project rather than of one module: the
//! arrows between modules, and the layers of the shipped model pack.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules of `src/` by rank, as `lib.rs` lists them: a module may use
/// modules of a lower rank only. Modules of one rank do not use each other,
/// so there can be no import circle. `error` folds every stage's error and
/// is used by all; it is left out.
const RANKS: &[(&str, u8)] = &[
    ("names", 0),
    ("functions", 0),
    ("config", 1),
    ("catalog", 2),
    ("models", 3),
    ("sink", 3),
    ("generate", 3),
    ("distributed", 3),
    ("quality", 4),
    ("runlog", 5),
    ("project", 6),
    ("engine", 7),
    ("lineage", 8),
    ("openlineage", 8),
    ("bi", 8),
    ("report", 8),
    ("doctor", 8),
    ("cli", 9),
];

/// The `crate::X` modules a source file uses: inline paths and `use`
/// lines, including `use crate::{a, b::C}` groups that rustfmt spreads
/// over several lines. Comments are skipped.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let path = regex::Regex::new(r"crate::([a-z_]+)").expect("regex");
    out.extend(path.captures_iter(&code).map(|c| c[1].to_string()));
    // The first segment of each top-level item of a `crate::{…}` group.
    for (start, _) in code.match_indices("crate::{") {
        let mut depth = 0;
        let mut item = String::new();
        for ch in code[start + "crate::".len()..].chars() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 1 => break,
                '}' => depth -= 1,
                ',' if depth == 1 => {
                    out.extend(first_segment(&item));
                    item.clear();
                    continue;
                }
                _ => {}
            }
            if depth == 1 && ch != '{' {
                item.push(ch);
            }
        }
        out.extend(first_segment(&item));
    }
    out
}

/// `b` of ` b::C`, when it names a module (lowercase).
fn first_segment(item: &str) -> Option<String> {
    let name = item.trim().split("::").next()?.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .then(|| name.to_string())
}

/// The files under `dir` whose name ends in `.ext`.
fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

/// Every arrow `module → used module` among the files of `src/`.
fn arrows(src: &Path) -> BTreeMap<(String, String), PathBuf> {
    let mut out = BTreeMap::new();
    for file in files_with_extension(src, "rs") {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if matches!(module.as_str(), "lib" | "main" | "error" | "tests") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        for used in crate_refs(&text) {
            if used != module && used != "error" {
                out.insert((module.clone(), used), rel.to_path_buf());
            }
        }
    }
    out
}

/// The arrows that break the ranks, as `file: a → b` lines.
fn forbidden_arrows(src: &Path) -> Vec<String> {
    let rank: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut bad = Vec::new();
    for ((from, to), file) in arrows(src) {
        let (Some(f), Some(t)) = (rank.get(from.as_str()), rank.get(to.as_str())) else {
            bad.push(format!(
                "{}: {from} → {to}: a module missing from RANKS (add it in the order of lib.rs)",
                file.display()
            ));
            continue;
        };
        if t >= f {
            bad.push(format!(
                "{}: {from} (rank {f}) uses {to} (rank {t}); a module may only use lower ranks",
                file.display()
            ));
        }
    }
    bad
}

#[test]
fn modules_use_only_the_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = forbidden_arrows(&src);
    assert!(bad.is_empty(), "forbidden imports:\n{}", bad.join("\n"));
}

#[test]
fn the_arrow_check_catches_a_forbidden_import() {
    // engine must not know the command line, the sink must not know models,
    // config and functions use nothing of shoal's.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    for (file, text) in [
        (
            "engine/mod.rs",
            "use crate::cli::Printer;\nuse crate::project::Project;",
        ),
        (
            "sink/purge.rs",
            "fn f() { crate::models::valid_name(\"x\"); }",
        ),
        (
            "config/mod.rs",
            "use crate::{\n    Result,\n    catalog::{self, Location},\n};",
        ),
        (
            "functions/json.rs",
            "// crate::engine in a comment is no import",
        ),
        ("newmodule.rs", "use crate::names;"),
    ] {
        let path = src.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let bad = forbidden_arrows(src).join("\n");
    assert!(bad.contains("engine (rank 7) uses cli (rank 9)"), "{bad}");
    assert!(bad.contains("sink (rank 3) uses models (rank 3)"), "{bad}");
    assert!(
        bad.contains("config (rank 1) uses catalog (rank 2)"),
        "{bad}"
    );
    assert!(
        bad.contains("newmodule → names: a module missing from RANKS"),
        "{bad}"
    );
    assert!(!bad.contains("functions"), "{bad}");
    assert!(!bad.contains("engine (rank 7) uses project"), "{bad}");
}

/// The layers of `sql/`, in the order data flows through them.
const LAYERS: [&str; 4] = ["staging", "intermediate", "marts", "quality"];

/// `model (layer) reads dep (layer)` for every model that reads a model of
/// a later layer, and `model: not in a layer` for files outside them.
fn layer_violations(project_dir: &Path) -> Vec<String> {
    let models = crate::models::discover_models(project_dir, &project_dir.join("sql"))
        .expect("the pack parses");
    let config = crate::config::parse_config(
        &std::fs::read_to_string(project_dir.join("config/shoal.yaml")).expect("config"),
        "config/shoal.yaml",
        &[],
    )
    .expect("the config parses");
    let ds = chrono::NaiveDate::from_ymd_opt(2026, 10, 30).expect("a day");
    let ctx = crate::models::TemplateContext::new(&config, ds, false, None);
    let dag = crate::models::Dag::build(models, &ctx).expect("the pack builds a DAG");
    let layer = |file: &str| -> Option<usize> {
        let dir = Path::new(file).parent()?.file_name()?.to_str()?;
        LAYERS.iter().position(|l| *l == dir)
    };
    let mut bad = Vec::new();
    for m in &dag.models {
        let Some(mine) = layer(&m.file) else {
            bad.push(format!(
                "{}: not in a layer ({})",
                m.file,
                LAYERS.join(", ")
            ));
            continue;
        };
        for d in &m.deps {
            let dep = dag.get(d).expect("deps are models");
            if layer(&dep.file).is_some_and(|theirs| theirs > mine) {
                bad.push(format!(
                    "{} ({}) reads {} ({})",
                    m.file,
                    LAYERS[mine],
                    dep.file,
                    LAYERS[layer(&dep.file).unwrap()]
                ));
            }
        }
    }
    bad
}

#[test]
fn pack_models_read_only_their_own_or_earlier_layers() {
    let bad = layer_violations(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        bad.is_empty(),
        "models reading a later layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_layer_check_catches_a_model_reading_a_later_layer() {
    // The shipped pack with content_scores (a mart that reads
    // content_daily, an intermediate table) moved to staging/.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for file in files_with_extension(&root.join("sql"), "sql") {
        let rel = file.strip_prefix(root).unwrap();
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::copy(
        root.join("config/shoal.yaml"),
        dir.path().join("config/shoal.yaml"),
    )
    .unwrap();
    let sql = dir.path().join("sql");
    std::fs::rename(
        sql.join("marts/content_scores.sql"),
        sql.join("staging/content_scores.sql"),
    )
    .unwrap();
    let bad = layer_violations(dir.path());
    assert_eq!(
        bad,
        vec![
            "sql/staging/content_scores.sql (staging) reads sql/intermediate/content_daily.sql (intermediate)"
                .to_string()
        ]
    );
}
