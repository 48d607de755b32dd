//! Pairing the rows of two runs and comparing each grader's outcomes on the pairs. Rows pair
//! by `pair_by: item.<field>` when the eval declares it, else by identical item content; the
//! k-th row of a key in one run pairs with the k-th of that key in the other. What cannot be
//! paired is counted, and when nothing pairs the comparison falls back to Fisher's exact test
//! on the two runs' totals, and says so.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::stats::{agresti_min_95, fisher_exact, mcnemar_exact, verdict, Verdict};
use crate::api::wire::grader_name;
use crate::plan::canonical::canonical_json;

/// One output item as a comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    /// What pairs it with a row of the other run.
    pub key: String,
    /// Each grader's outcome by the name the manifest gave it; `None` when it errored or
    /// was skipped.
    pub outcomes: BTreeMap<String, Option<bool>>,
}

impl Row {
    /// Whether every grader passed the row; `None` when one could not grade it.
    pub fn all_passed(&self) -> Option<bool> {
        self.outcomes
            .values()
            .try_fold(true, |all, outcome| outcome.map(|passed| all && passed))
    }

    fn outcome(&self, grader: Option<&str>) -> Option<bool> {
        match grader {
            Some(name) => self.outcomes.get(name).copied().flatten(),
            None => self.all_passed(),
        }
    }
}

/// The rows of a page of output items. `pair_by` is a field of the item (`item.<field>`
/// names `<field>`); a row without it pairs by content.
pub fn rows(items: &[Value], pair_by: Option<&str>) -> Vec<Row> {
    items
        .iter()
        .map(|item| {
            let row = &item["datasource_item"];
            let key = pair_by
                .and_then(|field| row.get(field))
                .map_or_else(|| canonical_json(row), canonical_json);
            let outcomes = item["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|result| {
                    let name = grader_name(result["name"].as_str().unwrap_or_default());
                    let graded = !matches!(result["status"].as_str(), Some("errored" | "skipped"))
                        && result["error"].is_null();
                    let passed = graded.then(|| result["passed"].as_bool()).flatten();
                    (name.to_string(), passed)
                })
                .collect();
            Row {
                id: item["id"].as_str().unwrap_or_default().to_string(),
                key,
                outcomes,
            }
        })
        .collect()
}

/// Which rows pair: (index in base, index in new), and how many of each run did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub pairs: Vec<(usize, usize)>,
    pub unpaired_base: usize,
    pub unpaired_new: usize,
}

pub fn pair(base: &[Row], new: &[Row]) -> Pairing {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in base.iter().enumerate() {
        by_key.entry(row.key.as_str()).or_default().push(i);
    }
    // Each key's base rows are taken in order, one per new row with that key.
    let mut next: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (j, row) in new.iter().enumerate() {
        let Some(candidates) = by_key.get(row.key.as_str()) else {
            continue;
        };
        let taken = next.entry(row.key.as_str()).or_default();
        if let Some(&i) = candidates.get(*taken) {
            pairs.push((i, j));
            *taken += 1;
        }
    }
    Pairing {
        unpaired_base: base.len() - pairs.len(),
        unpaired_new: new.len() - pairs.len(),
        pairs,
    }
}

/// How the two runs were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Exact McNemar on the paired rows, Agresti-Min interval.
    Paired,
    /// Nothing paired: Fisher's exact test on the totals, no interval.
    Unpaired,
}

/// One grader's (or all graders') comparison, with the field names of `compare -o json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub name: String,
    pub method: Method,
    pub paired: u64,
    pub base_pass_rate: f64,
    pub new_pass_rate: f64,
    pub delta: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub pass_to_fail: u64,
    pub fail_to_pass: u64,
    pub p_value: f64,
    pub verdict: Verdict,
    /// New rows that failed where their base row passed (ids), in the new run's order.
    #[serde(skip)]
    pub regressed: Vec<usize>,
}

/// Compares `grader` (all graders when `None`) between the two runs at `alpha`. Rows the
/// grader could not grade in either run leave the comparison.
pub fn compare(
    base: &[Row],
    new: &[Row],
    pairing: &Pairing,
    grader: Option<&str>,
    alpha: f64,
) -> Comparison {
    let name = grader.unwrap_or("all graders").to_string();
    let graded: Vec<(bool, bool, usize)> = pairing
        .pairs
        .iter()
        .filter_map(|&(i, j)| Some((base[i].outcome(grader)?, new[j].outcome(grader)?, j)))
        .collect();
    if graded.is_empty() {
        return unpaired(name, base, new, grader, alpha);
    }
    let n = graded.len() as u64;
    let count =
        |f: &dyn Fn(&(bool, bool, usize)) -> bool| graded.iter().filter(|g| f(g)).count() as u64;
    let base_passed = count(&|g| g.0);
    let new_passed = count(&|g| g.1);
    let pass_to_fail = count(&|g| g.0 && !g.1);
    let fail_to_pass = count(&|g| !g.0 && g.1);
    let (ci_low, ci_high) = agresti_min_95(pass_to_fail, fail_to_pass, n);
    Comparison {
        name,
        method: Method::Paired,
        paired: n,
        base_pass_rate: base_passed as f64 / n as f64,
        new_pass_rate: new_passed as f64 / n as f64,
        delta: (new_passed as f64 - base_passed as f64) / n as f64,
        ci_low: Some(ci_low),
        ci_high: Some(ci_high),
        pass_to_fail,
        fail_to_pass,
        p_value: mcnemar_exact(pass_to_fail, fail_to_pass),
        verdict: verdict(pass_to_fail, fail_to_pass, alpha),
        regressed: graded.iter().filter(|g| g.0 && !g.1).map(|g| g.2).collect(),
    }
}

fn unpaired(
    name: String,
    base: &[Row],
    new: &[Row],
    grader: Option<&str>,
    alpha: f64,
) -> Comparison {
    let tally = |rows: &[Row]| {
        let outcomes: Vec<bool> = rows.iter().filter_map(|r| r.outcome(grader)).collect();
        let passed = outcomes.iter().filter(|p| **p).count() as u64;
        (passed, outcomes.len() as u64 - passed)
    };
    let ((bp, bf), (np, nf)) = (tally(base), tally(new));
    let rate = |p: u64, f: u64| {
        if p + f == 0 {
            0.0
        } else {
            p as f64 / (p + f) as f64
        }
    };
    let (base_rate, new_rate) = (rate(bp, bf), rate(np, nf));
    let p_value = fisher_exact(bp, bf, np, nf);
    let enough = bp + bf > 0 && np + nf > 0;
    let verdict = match (enough, p_value < alpha) {
        (false, _) => Verdict::Inconclusive,
        (true, false) => Verdict::Unchanged,
        (true, true) if new_rate > base_rate => Verdict::Improved,
        (true, true) => Verdict::Regressed,
    };
    Comparison {
        name,
        method: Method::Unpaired,
        paired: 0,
        base_pass_rate: base_rate,
        new_pass_rate: new_rate,
        delta: new_rate - base_rate,
        ci_low: None,
        ci_high: None,
        pass_to_fail: 0,
        fail_to_pass: 0,
        p_value,
        verdict,
        regressed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, row: Value, passed: &[(&str, bool)]) -> Value {
        let results: Vec<Value> = passed
            .iter()
            .map(|(name, p)| json!({"name": format!("{name}-6d3fb9a2-46a4-4b4d-9c4e-3f1c1b0e8a11"), "passed": p}))
            .collect();
        json!({"id": id, "datasource_item": row, "results": results})
    }

    #[test]
    fn rows_pair_by_field_by_content_and_some_not_at_all() {
        let base = rows(
            &[
                item("b1", json!({"id": 1, "q": "x"}), &[("g", true)]),
                item("b2", json!({"id": 2, "q": "y"}), &[("g", true)]),
                item("b3", json!({"id": 3, "q": "z"}), &[("g", false)]),
            ],
            Some("id"),
        );
        // The prompt changed the rows' text, not their ids: they pair by `id`.
        let new = rows(
            &[
                item("n2", json!({"id": 2, "q": "Y"}), &[("g", false)]),
                item("n1", json!({"id": 1, "q": "X"}), &[("g", true)]),
                item("n9", json!({"id": 9, "q": "w"}), &[("g", true)]),
            ],
            Some("id"),
        );
        let by_field = pair(&base, &new);
        assert_eq!(by_field.pairs, [(1, 0), (0, 1)]);
        assert_eq!((by_field.unpaired_base, by_field.unpaired_new), (1, 1));
        // By content, the changed rows pair with nothing.
        let by_content = pair(
            &rows(&[item("b", json!({"q": "x"}), &[])], None),
            &rows(&[item("n", json!({"q": "X"}), &[])], None),
        );
        assert!(by_content.pairs.is_empty());
        let compared = compare(&base, &new, &by_field, Some("g"), 0.05);
        assert_eq!(
            (
                compared.paired,
                compared.pass_to_fail,
                compared.fail_to_pass
            ),
            (2, 1, 0)
        );
        assert_eq!(compared.regressed, [0]);
        assert_eq!(compared.method, Method::Paired);
        assert_eq!(compared.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn repeated_rows_pair_in_order_and_errors_leave_the_comparison() {
        let same = json!({"q": "x"});
        let base = rows(
            &[
                item("b1", same.clone(), &[("g", true)]),
                item("b2", same.clone(), &[("g", true)]),
            ],
            None,
        );
        let mut errored = item("n2", same.clone(), &[("g", true)]);
        errored["results"][0]["status"] = json!("errored");
        let new = rows(&[item("n1", same.clone(), &[("g", false)]), errored], None);
        let pairing = pair(&base, &new);
        assert_eq!(pairing.pairs, [(0, 0), (1, 1)]);
        let compared = compare(&base, &new, &pairing, None, 0.05);
        assert_eq!((compared.paired, compared.pass_to_fail), (1, 1));
    }

    #[test]
    fn nothing_paired_falls_back_to_fisher_on_the_totals() {
        let base: Vec<Value> = (0..10)
            .map(|i| item(&format!("b{i}"), json!({"b": i}), &[("g", i < 8)]))
            .collect();
        let new: Vec<Value> = (0..6)
            .map(|i| item(&format!("n{i}"), json!({"n": i}), &[("g", i < 1)]))
            .collect();
        let (base, new) = (rows(&base, None), rows(&new, None));
        let compared = compare(&base, &new, &pair(&base, &new), Some("g"), 0.05);
        assert_eq!(compared.method, Method::Unpaired);
        // Fisher on [[8, 2], [1, 5]].
        assert!((compared.p_value - 0.034_965_034_965_034_96).abs() < 1e-9);
        assert_eq!(compared.verdict, Verdict::Regressed);
        assert_eq!(compared.ci_low, None);
    }
}
