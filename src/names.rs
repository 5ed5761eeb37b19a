//! Names: what a plain model name is (it becomes a path segment of the
//! output location), and the "did you mean" suggestion every error about an
//! unknown name (model, table, column) makes.

use datafusion::common::utils::datafusion_strsim::levenshtein;

/// Whether `name` is a plain model name (`[A-Za-z_][A-Za-z0-9_]*`): no
/// separators, dots, schemes or escapes, so an output path built from it
/// stays under the output location.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why a selector or `compile` argument that is not a [`valid_name`] is
/// refused (it could name a path outside the output location).
pub const NOT_A_PATH: &str = "model names and tags are plain names (a letter or _, then letters, digits and _), never paths or URLs";

/// The closest of `candidates` to `name`, if close enough to suggest.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}
