//! `builtin.f1_score`: the token overlap of a response with its ground truth, as Microsoft's
//! `azure-ai-evaluation` computes it (`F1ScoreEvaluator._compute_f1_score`, the SQuAD
//! measure): both texts lower-cased, ASCII punctuation and the articles a/an/the removed,
//! split on whitespace; the harmonic mean of precision and recall over the shared tokens
//! (counted with multiplicity), 0 when none are shared.

use std::collections::HashMap;

pub fn f1_score(response: &str, ground_truth: &str) -> f64 {
    let predicted = normalized_tokens(response);
    let reference = normalized_tokens(ground_truth);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for token in &reference {
        *counts.entry(token).or_default() += 1;
    }
    let common = predicted
        .iter()
        .filter(|token| match counts.get_mut(token.as_str()) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        })
        .count();
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / predicted.len() as f64;
    let recall = common as f64 / reference.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn normalized_tokens(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let unpunctuated: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    // Removing an article leaves a space behind, which the whitespace split then drops.
    unpunctuated
        .split_whitespace()
        .filter(|word| !matches!(*word, "a" | "an" | "the"))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_counted_after_normalising() {
        // capital, of, france, is, paris against paris: P = 1/5, R = 1.
        assert!((f1_score("The capital of France is Paris.", "Paris") - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(f1_score("Paris", "paris!"), 1.0);
        // `a` is an article; one of the two b's is shared: P = R = 1/2.
        assert_eq!(f1_score("a b b", "b c"), 0.5);
        assert_eq!(f1_score("", "Paris"), 0.0);
        assert_eq!(f1_score("the an a", "the"), 0.0);
    }
}
