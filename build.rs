//! Embeds the shipped model pack (`sql/`) and `config/shoal.yaml` into the
//! binary for `shoal init`: writes `$OUT_DIR/pack.rs` with one
//! `(relative path, include_str!(file))` pair per file, the file named
//! relative to the crate's directory.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "sql") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = vec![root.join("config/shoal.yaml")];
    walk(&root.join("sql"), &mut files);
    files[1..].sort();
    let mut code = String::from("&[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).expect("inside the crate");
        let rel = rel.to_string_lossy().replace('\\', "/");
        // The path is taken from CARGO_MANIFEST_DIR when the crate compiles,
        // not written out here: checkouts at different paths share this
        // build script's output in one target directory.
        code.push_str(&format!(
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),\n",
            format!("/{rel}")
        ));
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("pack.rs");
    std::fs::write(out, code).expect("write pack.rs");
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=config/shoal.yaml");
}
