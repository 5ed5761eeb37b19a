//! Discovery: every `*.sql` file under the models folder is a model named
//! after its file stem; the header is parsed here, the SQL rendered later.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Model, ModelError, SOURCES, header::parse_header, valid_name};

/// Reads every `*.sql` file under `dir` (sorted), parsing headers.
pub fn discover_models(project_dir: &Path, dir: &Path) -> Result<Vec<Model>, ModelError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| ModelError::Io {
            path: dir.display().to_string(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "sql") {
            files.push(entry.path().to_path_buf());
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut models = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(project_dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if !valid_name(&name) {
            return Err(ModelError::At {
                file,
                line: 1,
                column: 1,
                message: format!(
                    "model name {name:?} (the file stem) must start with a letter or _ and contain only letters, digits and _"
                ),
            });
        }
        if SOURCES.contains(&name.as_str()) {
            return Err(ModelError::At {
                file,
                line: 1,
                column: 1,
                message: format!("model name {name:?} is the name of a source; rename the file"),
            });
        }
        if let Some(first) = seen.get(&name) {
            return Err(ModelError::Duplicate {
                name,
                first: first.clone(),
                second: file,
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: file.clone(),
            source,
        })?;
        let header = parse_header(&file, &text)?;
        seen.insert(name.clone(), file.clone());
        models.push(Model {
            name,
            file,
            text,
            header,
            sql: String::new(),
            deps: vec![],
            sources: vec![],
        });
    }
    Ok(models)
}
