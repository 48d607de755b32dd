//! `text_similarity`: the score in [0, 1] of OpenAI's text similarity grader for each
//! `evaluation_metric`. OpenAI documents only the families (`fuzzy_match` "using
//! rapidfuzz", ROUGE "as defined by the rouge python library"); where it names no settings
//! we follow Microsoft's azure-ai-evaluation SDK, the published Python implementation of the
//! same metrics for the same (shared) service. Each submodule names its reference function.
//! `cosine` needs `text-embedding-3-large`, which an offline emulator does not have.

use super::tokenize::{nltk_tokenize, TooComplex};
use super::{bleu, fuzzy, meteor, rouge, GradeError};

/// The score of `input` against `reference` under `metric`.
pub fn text_similarity(metric: &str, input: &str, reference: &str) -> Result<f64, GradeError> {
    let nltk = |f: fn(&[String], &[String]) -> f64| -> Result<f64, GradeError> {
        let tokens = |text| {
            nltk_tokenize(text).map_err(|TooComplex(reason)| GradeError::Tokenize {
                metric: metric.to_string(),
                reason,
            })
        };
        Ok(f(&tokens(input)?, &tokens(reference)?))
    };
    match metric {
        "fuzzy_match" => Ok(fuzzy::fuzzy_match(input, reference)),
        "bleu" => nltk(bleu::sentence_bleu),
        "gleu" => nltk(bleu::sentence_gleu),
        "meteor" => nltk(meteor::meteor),
        "rouge_1" => Ok(rouge::rouge_n(1, input, reference)),
        "rouge_2" => Ok(rouge::rouge_n(2, input, reference)),
        "rouge_3" => Ok(rouge::rouge_n(3, input, reference)),
        "rouge_4" => Ok(rouge::rouge_n(4, input, reference)),
        "rouge_5" => Ok(rouge::rouge_n(5, input, reference)),
        "rouge_l" => Ok(rouge::rouge_l(input, reference)),
        "cosine" => Err(GradeError::NeedsModel {
            metric: metric.to_string(),
        }),
        _ => Err(GradeError::Unknown {
            what: "evaluation_metric",
            found: metric.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::manifest::source::SourceFile;

    /// Tighter than the 1e-6 asked for: every row agrees with its reference to ~1e-15.
    const TOLERANCE: f64 = 1e-12;

    /// One table of `tests/fixtures/metrics/`: the metric, and rows of input, reference and
    /// the score the reference implementation its comment names gives them.
    fn table(path: &std::path::Path) -> (String, Vec<(String, String, f64)>) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let source = SourceFile::new("table".into(), path.to_path_buf(), text);
        let parsed = crate::manifest::yaml::parse(&source);
        let document = parsed.documents.first().map(|d| d.to_json());
        let document = document.unwrap_or_default();
        let metric = document["metric"].as_str().unwrap_or_default().to_string();
        let rows = document["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let text = |i: usize| row[i].as_str().unwrap_or_default().to_string();
                (text(0), text(1), row[2].as_f64().unwrap_or(f64::NAN))
            })
            .collect();
        (metric, rows)
    }

    #[test]
    fn every_metric_gives_its_reference_scores() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics");
        let mut tables: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .collect();
        tables.sort();
        assert_eq!(tables.len(), 10, "one table a metric in {}", dir.display());
        for path in tables {
            let (metric, rows) = table(&path);
            assert!(rows.len() >= 14, "{}", path.display());
            for (input, reference, expected) in rows {
                let got = text_similarity(&metric, &input, &reference);
                let Ok(got) = got else {
                    panic!("{metric}({input:?}, {reference:?}) = {got:?}");
                };
                assert!(
                    (got - expected).abs() <= TOLERANCE,
                    "{metric}({input:?}, {reference:?}) = {got}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn cosine_needs_an_embeddings_model() {
        assert_eq!(
            text_similarity("cosine", "a", "a"),
            Err(GradeError::NeedsModel {
                metric: "cosine".to_string()
            })
        );
    }

    #[test]
    fn unknown_metric_is_an_error() {
        for metric in ["rouge_6", "rouge-1", "BLEU", ""] {
            assert_eq!(
                text_similarity(metric, "a", "a"),
                Err(GradeError::Unknown {
                    what: "evaluation_metric",
                    found: metric.to_string()
                })
            );
        }
    }
}
