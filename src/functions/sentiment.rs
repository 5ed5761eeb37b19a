//! `sentiment(text [, lexicon_path])` → Float64 in [−1, 1]: the polarity of
//! a comment by a word list, for comments whose sentiment no upstream
//! service labelled. NULL for NULL text; 0 for text with no word of the
//! lexicon. `sentiment_daily` reads the score as positive at ≥
//! `vars.sentiment_threshold` (0.05), negative at ≤ its negative, neutral
//! between (docs/functions.md#sentiment).
//!
//! The scan, in one pass over the characters:
//! - Latin letters, digits and `'` form words, compared lower-case; a word
//!   ending in `n't` is a negator.
//! - Any other letter (Chinese has no spaces) is matched longest first
//!   against the lexicon's entries (forward maximum matching), one
//!   character at a time where nothing matches.
//! - A negator (`不`, `没有`, `not`, `never` …) flips the next polar term
//!   within three words or characters, scaled by 0.74 (“not good” is less
//!   negative than “bad” is); a second negator flips it back.
//! - An intensifier (`太`, `非常`, `very` …) multiplies the next polar term.
//! - Clause punctuation (`，。！？,.;!?` …) ends a negation's or an
//!   intensifier's reach.
//! - The sum `s` of the polar terms becomes `s / √(s² + 15)`, so one strong
//!   word gives about ±0.5 and the score approaches ±1 as words accumulate
//!   (VADER's normalisation).
//!
//! The shipped lexicon, `config/sentiment-lexicon.tsv` (compiled into the
//! binary), was written for shoal and is under shoal's licence. A second
//! argument names another lexicon file in the same format, read once per
//! process; on a cluster every executor must be able to read it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The lexicon shipped with shoal.
pub const DEFAULT_LEXICON: &str = include_str!("../../config/sentiment-lexicon.tsv");

/// How far a negator reaches, in words or unmatched characters.
const NEGATION_REACH: u8 = 3;
/// A negated term counts this much, with the opposite sign.
const NEGATION_SCALE: f64 = 0.74;
/// `s / sqrt(s² + ALPHA)`.
const ALPHA: f64 = 15.0;

/// What a lexicon entry does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry {
    /// A polar term and its weight, −4 to 4.
    Polar(f64),
    /// Flips the next polar term.
    Negator,
    /// Multiplies the next polar term.
    Intensifier(f64),
}

/// A parsed lexicon: entries by term, and the longest term in characters.
#[derive(Debug)]
pub struct Lexicon {
    entries: HashMap<String, Entry>,
    max_chars: usize,
}

impl Lexicon {
    /// Parses the lexicon format: one `term<TAB>weight` per line, where
    /// weight is a number from −4 to 4, `negator`, or `x` and a factor
    /// (`x1.5`, an intensifier); `#` starts a comment line. `origin` names the
    /// file in errors, which give its line.
    pub fn parse(text: &str, origin: &str) -> std::result::Result<Self, String> {
        let mut entries = HashMap::new();
        let mut max_chars = 1;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{origin}:{}", i + 1);
            let Some((term, weight)) = line.split_once('\t') else {
                return Err(format!(
                    "{}: expected `term<TAB>weight`, found {line:?}",
                    at()
                ));
            };
            let term = term.trim().to_lowercase();
            let weight = weight.trim();
            let entry = if weight == "negator" {
                Entry::Negator
            } else if let Some(f) = weight.strip_prefix('x') {
                match f.parse::<f64>() {
                    Ok(f) if f.is_finite() && f > 0.0 => Entry::Intensifier(f),
                    _ => {
                        return Err(format!(
                            "{}: intensifier {weight:?} of {term:?} is not `x` and a positive factor",
                            at()
                        ));
                    }
                }
            } else {
                match weight.parse::<f64>() {
                    Ok(w) if (-4.0..=4.0).contains(&w) => Entry::Polar(w),
                    _ => {
                        return Err(format!(
                            "{}: weight {weight:?} of {term:?} is not a number from -4 to 4, `negator` or `x<factor>`",
                            at()
                        ));
                    }
                }
            };
            if term.is_empty() {
                return Err(format!("{}: empty term", at()));
            }
            max_chars = max_chars.max(term.chars().count());
            entries.insert(term, entry);
        }
        Ok(Self { entries, max_chars })
    }

    /// The score of `text`, in [−1, 1] (see the module documentation).
    pub fn score(&self, text: &str) -> f64 {
        let chars: Vec<char> = text.chars().collect();
        let mut sum = 0.0;
        let mut negated = false;
        let mut reach = 0u8;
        let mut boost = 1.0;
        let mut word = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if is_clause_end(c) {
                (negated, reach, boost) = (false, 0, 1.0);
                i += 1;
                continue;
            }
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            let entry = if is_word_char(c) {
                word.clear();
                while i < chars.len() && is_word_char(chars[i]) {
                    word.extend(chars[i].to_lowercase());
                    i += 1;
                }
                // ’ as typed on phones
                let w = word.replace('’', "'");
                self.entries
                    .get(&w)
                    .copied()
                    .or_else(|| w.ends_with("n't").then_some(Entry::Negator))
            } else {
                let mut found = None;
                let longest = self.max_chars.min(chars.len() - i);
                for len in (1..=longest).rev() {
                    let term: String = chars[i..i + len].iter().collect::<String>().to_lowercase();
                    if let Some(e) = self.entries.get(&term) {
                        found = Some(*e);
                        i += len;
                        break;
                    }
                }
                if found.is_none() {
                    i += 1;
                }
                found
            };
            match entry {
                Some(Entry::Negator) => {
                    negated = !negated;
                    reach = NEGATION_REACH;
                }
                Some(Entry::Intensifier(f)) => boost *= f,
                Some(Entry::Polar(w)) => {
                    let flip = if negated && reach > 0 {
                        -NEGATION_SCALE
                    } else {
                        1.0
                    };
                    sum += w * boost * flip;
                    (negated, reach, boost) = (false, 0, 1.0);
                }
                None => {
                    if reach > 0 {
                        reach -= 1;
                        if reach == 0 {
                            negated = false;
                        }
                    }
                }
            }
        }
        if sum == 0.0 {
            0.0
        } else {
            (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '\'' || c == '’'
}

fn is_clause_end(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '，' | '。' | '；' | '：' | '！' | '？' | '、' | '\n'
    )
}

/// The shipped lexicon, parsed once.
static DEFAULT: LazyLock<Arc<Lexicon>> = LazyLock::new(|| {
    Arc::new(
        Lexicon::parse(DEFAULT_LEXICON, "config/sentiment-lexicon.tsv")
            .expect("the shipped lexicon parses (checked by a unit test)"),
    )
});

/// Lexicon files named by a second argument, read once per process.
static FILES: LazyLock<Mutex<HashMap<String, Arc<Lexicon>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The lexicon of the file at `path`, read and parsed on first use.
fn lexicon_file(path: &str) -> Result<Arc<Lexicon>> {
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = files.get(path) {
        return Ok(Arc::clone(l));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return exec_err!(
                "sentiment: cannot read the lexicon {path}: {e} (vars.sentiment_lexicon names a file every process of the run can read)"
            );
        }
    };
    let lexicon = match Lexicon::parse(&text, path) {
        Ok(l) => Arc::new(l),
        Err(e) => return exec_err!("sentiment: {e}"),
    };
    files.insert(path.to_string(), Arc::clone(&lexicon));
    Ok(lexicon)
}

/// The `sentiment` scalar function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sentiment {
    signature: Signature,
}

impl Sentiment {
    /// The function, ready to wrap in a `ScalarUDF`.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for Sentiment {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Sentiment {
    fn name(&self) -> &str {
        "sentiment"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.is_empty() || arg_types.len() > 2 {
            return plan_err!(
                "sentiment(text [, lexicon_path]) takes 1 or 2 arguments, got {}",
                arg_types.len()
            );
        }
        for t in arg_types {
            if !matches!(
                t,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
            ) {
                return plan_err!("sentiment(text [, lexicon_path]) takes strings, got {t}");
            }
        }
        Ok(vec![DataType::Utf8; arg_types.len()])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let lexicon = match args.args.get(1) {
            None => Arc::clone(&DEFAULT),
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(p)))) => lexicon_file(p)?,
            Some(_) => {
                return exec_err!(
                    "sentiment(text, lexicon_path): the lexicon path must be a string literal"
                );
            }
        };
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let text = match s {
                    ScalarValue::Utf8(t) | ScalarValue::LargeUtf8(t) | ScalarValue::Utf8View(t) => {
                        t.as_deref()
                    }
                    _ => None,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Float64(
                    text.map(|t| lexicon.score(t)),
                )))
            }
            ColumnarValue::Array(a) => {
                let a = cast(a, &DataType::Utf8)?;
                let Some(texts) = a.as_any().downcast_ref::<StringArray>() else {
                    return exec_err!("sentiment: text is not a string column");
                };
                let scores: Float64Array =
                    texts.iter().map(|t| t.map(|t| lexicon.score(t))).collect();
                Ok(ColumnarValue::Array(Arc::new(scores) as ArrayRef))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str) -> f64 {
        DEFAULT.score(text)
    }

    #[test]
    fn the_shipped_lexicon_parses() {
        let l = Lexicon::parse(DEFAULT_LEXICON, "shipped").unwrap();
        assert!(l.entries.len() >= 300, "{} entries", l.entries.len());
    }

    #[test]
    fn chinese_sentences() {
        // 太 (x1.5) 棒 (+3): s = 4.5, 4.5 / sqrt(4.5² + 15) = 0.758
        assert!((score("这个活动太棒了") - 4.5 / (4.5f64 * 4.5 + 15.0).sqrt()).abs() < 1e-12);
        // 太 (x1.5) 差 (−2.5) = −3.75; 再也不买 (−3), a phrase matched before
        // its 不: s = −6.75
        let s: f64 = -6.75;
        assert!((score("质量太差，再也不买了") - s / (s * s + 15.0).sqrt()).abs() < 1e-12);
        // 不 flips 好 (+2): −2 × 0.74 = −1.48
        let s: f64 = -1.48;
        assert!((score("不好") - s / (s * s + 15.0).sqrt()).abs() < 1e-12);
        // 不是 … 不: two negators cancel, 好 counts +2
        let s: f64 = 2.0;
        assert!((score("不是不好") - s / (s * s + 15.0).sqrt()).abs() < 1e-12);
        assert_eq!(score("今天下午三点开会"), 0.0);
    }

    #[test]
    fn english_sentences() {
        // love (+3) = 3 → 3 / sqrt(9 + 15) = 0.612
        assert!((score("I love this community") - 3.0 / 24f64.sqrt()).abs() < 1e-12);
        // don't (negator) … good (+2): −1.48
        let s: f64 = -1.48;
        assert!(
            (score("Honestly I don't think it's good") - s / (s * s + 15.0).sqrt()).abs() < 1e-12
        );
        // the negation stops at the comma: "not" reaches nothing polar,
        // "great" (+3) counts as itself
        assert!((score("Not sure, but great") - 3.0 / 24f64.sqrt()).abs() < 1e-12);
        // very (x1.5) bad (−2.5) = −3.75
        let s: f64 = -3.75;
        assert!((score("VERY bad service!!!") - s / (s * s + 15.0).sqrt()).abs() < 1e-12);
        assert_eq!(score("see you at 3pm"), 0.0);
        assert_eq!(score(""), 0.0);
    }

    #[test]
    fn lexicon_errors_name_file_and_line() {
        let e = Lexicon::parse("# c\ngood\t2\nbad 2\n", "my.tsv").unwrap_err();
        assert!(e.starts_with("my.tsv:3:"), "{e}");
        let e = Lexicon::parse("good\t9\n", "my.tsv").unwrap_err();
        assert!(e.contains("my.tsv:1") && e.contains("-4 to 4"), "{e}");
        let e = Lexicon::parse("very\tx-1\n", "my.tsv").unwrap_err();
        assert!(e.contains("positive factor"), "{e}");
    }
}
