//! Pairing the rows of two runs and comparing each grader's outcomes on the pairs. Rows pair
//! by `pair_by: item.<field>` when the eval declares it, else by identical item content; the
//! k-th row of a key in one run (by its place in the data) pairs with the k-th of that key in
//! the other. What cannot be paired is counted, rows a grader could not grade are counted and
//! left out, and when no row pairs the comparison falls back to Fisher's exact test on the two
//! runs' totals, and says so.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::stats::{agresti_min_95, fisher_exact, mcnemar_exact, verdict, Verdict};
use crate::api::wire::grader_name;

/// One output item as a comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    /// What pairs it with a row of the other run: the value's text, or a digest of a long one.
    pub key: String,
    /// The value it pairs by, as shown (shortened).
    pub label: String,
    /// Whether `key` is the `pair_by` field's value (else the row's whole content).
    pub keyed_by_field: bool,
    /// Its place in the run's data (`datasource_item_id`): rows with one key pair in this order.
    pub index: Option<u64>,
    /// Each grader's outcome by the name the manifest gave it; `None` when it errored or
    /// was skipped.
    pub outcomes: BTreeMap<String, Option<bool>>,
}

impl Row {
    /// Whether every grader passed the row; `None` when one could not grade it, or none did.
    pub fn all_passed(&self) -> Option<bool> {
        if self.outcomes.is_empty() {
            return None;
        }
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
            let field = pair_by.and_then(|field| row.get(field));
            let text = exact_text(field.unwrap_or(row));
            // A row the service marks neither pass nor fail (an error) was not graded.
            let errored = item["status"]
                .as_str()
                .is_some_and(|status| !matches!(status, "pass" | "fail"));
            let outcomes = item["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|result| {
                    let name = grader_name(result["name"].as_str().unwrap_or_default());
                    let graded = !matches!(result["status"].as_str(), Some("errored" | "skipped"))
                        && result["error"].is_null();
                    let passed = graded.then(|| result["passed"].as_bool()).flatten();
                    (name.to_string(), passed.filter(|_| !errored))
                })
                .collect();
            Row {
                id: item["id"].as_str().unwrap_or_default().to_string(),
                label: crate::shown::shorten(&text).into_owned(),
                key: pairing_key(text),
                keyed_by_field: field.is_some(),
                index: item["datasource_item_id"].as_u64(),
                outcomes,
            }
        })
        .collect()
}

/// The key a row pairs by: its text, or for a long one (a whole row's content) its digest,
/// so that a history of many runs holds no copy of every row.
fn pairing_key(text: String) -> String {
    const LONG: usize = 64;
    if text.len() <= LONG {
        return text;
    }
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// A value as text that tells any two different values apart: object keys sorted, numbers
/// exactly as the service wrote them.
fn exact_text(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by_key(|(k, _)| *k);
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Which rows pair: (index in base, index in new), and how many of each run did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub pairs: Vec<(usize, usize)>,
    pub unpaired_base: usize,
    pub unpaired_new: usize,
}

pub fn pair(base: &[Row], new: &[Row]) -> Pairing {
    // Rows of one key, in their order in the data (the order the service lists items in is
    // not theirs), so that repeated rows pair the same way whatever the listing order.
    fn by_key(rows: &[Row]) -> BTreeMap<&str, Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            by_key.entry(row.key.as_str()).or_default().push(i);
        }
        for indices in by_key.values_mut() {
            indices.sort_by_key(|&i| (rows[i].index, i));
        }
        by_key
    }
    let base_keys = by_key(base);
    let mut pairs = Vec::new();
    for (key, new_rows) in by_key(new) {
        if let Some(base_rows) = base_keys.get(key) {
            pairs.extend(base_rows.iter().copied().zip(new_rows));
        }
    }
    pairs.sort_by_key(|&(_, j)| j);
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
    /// Pairs graded in both runs: what the test counts.
    pub paired: u64,
    /// `None` when the comparison has no graded row of that run.
    pub base_pass_rate: Option<f64>,
    pub new_pass_rate: Option<f64>,
    pub delta: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub pass_to_fail: u64,
    pub fail_to_pass: u64,
    pub p_value: f64,
    pub verdict: Verdict,
    /// Rows of each run the grader could not grade (an error, or no result): left out.
    pub errored_base: u64,
    pub errored_new: u64,
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
    if pairing.pairs.is_empty() {
        return unpaired(name, base, new, grader, alpha);
    }
    let errored = |rows: &[Row]| rows.iter().filter(|r| r.outcome(grader).is_none()).count() as u64;
    let graded: Vec<(bool, bool, usize)> = pairing
        .pairs
        .iter()
        .filter_map(|&(i, j)| Some((base[i].outcome(grader)?, new[j].outcome(grader)?, j)))
        .collect();
    let n = graded.len() as u64;
    if n == 0 {
        // Pairs, but none graded in both runs: nothing to test.
        return Comparison {
            name,
            method: Method::Paired,
            paired: 0,
            base_pass_rate: None,
            new_pass_rate: None,
            delta: None,
            ci_low: None,
            ci_high: None,
            pass_to_fail: 0,
            fail_to_pass: 0,
            p_value: 1.0,
            verdict: Verdict::Inconclusive,
            errored_base: errored(base),
            errored_new: errored(new),
            regressed: Vec::new(),
        };
    }
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
        base_pass_rate: Some(base_passed as f64 / n as f64),
        new_pass_rate: Some(new_passed as f64 / n as f64),
        delta: Some((new_passed as f64 - base_passed as f64) / n as f64),
        ci_low: Some(ci_low),
        ci_high: Some(ci_high),
        pass_to_fail,
        fail_to_pass,
        p_value: mcnemar_exact(pass_to_fail, fail_to_pass),
        verdict: verdict(pass_to_fail, fail_to_pass, n, alpha),
        errored_base: errored(base),
        errored_new: errored(new),
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
        let errored = rows.len() as u64 - outcomes.len() as u64;
        (passed, outcomes.len() as u64 - passed, errored)
    };
    let ((bp, bf, be), (np, nf, ne)) = (tally(base), tally(new));
    let rate = |p: u64, f: u64| (p + f > 0).then(|| p as f64 / (p + f) as f64);
    let (base_rate, new_rate) = (rate(bp, bf), rate(np, nf));
    let p_value = fisher_exact(bp, bf, np, nf);
    // Runs so small that not even all-pass against all-fail would be significant tell
    // nothing either way.
    let could_tell = fisher_exact(bp + bf, 0, 0, np + nf) < alpha;
    let verdict = match (base_rate.zip(new_rate), could_tell, p_value < alpha) {
        (None, _, _) | (_, false, _) => Verdict::Inconclusive,
        (Some(_), true, false) => Verdict::Unchanged,
        (Some((base, new)), true, true) if new > base => Verdict::Improved,
        (Some(_), true, true) => Verdict::Regressed,
    };
    Comparison {
        name,
        method: Method::Unpaired,
        paired: 0,
        base_pass_rate: base_rate,
        new_pass_rate: new_rate,
        delta: base_rate.zip(new_rate).map(|(base, new)| new - base),
        ci_low: None,
        ci_high: None,
        pass_to_fail: 0,
        fail_to_pass: 0,
        p_value,
        verdict,
        errored_base: be,
        errored_new: ne,
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

    #[test]
    fn rows_no_grader_graded_pass_nothing_and_are_counted() {
        let base: Vec<Value> = (0..10)
            .map(|i| item(&format!("b{i}"), json!({"id": i}), &[("g", true)]))
            .collect();
        let new: Vec<Value> = (0..10)
            .map(|i| {
                let mut errored = item(&format!("n{i}"), json!({"id": i}), &[("g", true)]);
                errored["results"][0]["status"] = json!("errored");
                errored
            })
            .collect();
        let (base, new) = (rows(&base, Some("id")), rows(&new, Some("id")));
        let pairing = pair(&base, &new);
        assert_eq!(pairing.pairs.len(), 10);
        let compared = compare(&base, &new, &pairing, None, 0.05);
        assert_eq!(compared.method, Method::Paired, "rows paired: no fallback");
        assert_eq!((compared.paired, compared.errored_new), (0, 10));
        assert_eq!((compared.new_pass_rate, compared.delta), (None, None));
        assert_eq!(compared.verdict, Verdict::Inconclusive);
        // A row marked as an error, or with no result at all, passed nothing.
        let odd = rows(
            &[
                json!({"id": "a", "status": "error", "datasource_item": {}, "results": []}),
                json!({"id": "b", "status": "error", "datasource_item": {},
                       "results": [{"name": "g-1", "passed": true}]}),
            ],
            None,
        );
        assert_eq!(odd[0].all_passed(), None);
        assert_eq!(odd[1].all_passed(), None);
    }

    #[test]
    fn one_pair_among_hundreds_of_rows_tells_nothing() {
        let base: Vec<Value> = (0..200)
            .map(|i| item(&format!("b{i}"), json!({"b": i}), &[("g", true)]))
            .collect();
        let mut new: Vec<Value> = (1..200)
            .map(|i| item(&format!("n{i}"), json!({"n": i}), &[("g", false)]))
            .collect();
        new.push(item("n0", json!({"b": 0}), &[("g", true)]));
        let (base, new) = (rows(&base, None), rows(&new, None));
        let pairing = pair(&base, &new);
        assert_eq!((pairing.pairs.len(), pairing.unpaired_new), (1, 199));
        let compared = compare(&base, &new, &pairing, None, 0.05);
        assert_eq!(compared.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn repeated_rows_pair_in_data_order_whatever_the_listing_order() {
        let at = |id: &str, index: u64, passed: bool| {
            let mut row = item(id, json!({"q": "same"}), &[("g", passed)]);
            row["datasource_item_id"] = json!(index);
            row
        };
        let base = rows(&[at("b0", 0, true), at("b1", 1, false)], None);
        // Listed newest first: the pairs still follow the data.
        let new = rows(&[at("n1", 1, false), at("n0", 0, true)], None);
        let pairing = pair(&base, &new);
        assert_eq!(pairing.pairs, [(1, 0), (0, 1)]);
        let compared = compare(&base, &new, &pairing, None, 0.05);
        assert_eq!((compared.pass_to_fail, compared.fail_to_pass), (0, 0));
    }

    #[test]
    fn numbers_pair_exactly_as_written() {
        let base = rows(&[item("b", json!({"x": 0.123_456_712}), &[])], None);
        let new = rows(&[item("n", json!({"x": 0.123_456_749}), &[])], None);
        assert!(pair(&base, &new).pairs.is_empty());
        let key = |v: Value| {
            rows(&[item("r", json!({"id": v}), &[])], Some("id"))[0]
                .key
                .clone()
        };
        assert_ne!(key(json!(1)), key(json!("1")));
    }

    #[test]
    fn runs_too_small_for_fisher_to_tell_are_inconclusive() {
        let base = rows(&[item("b", json!({"b": 1}), &[("g", true)])], None);
        let new = rows(&[item("n", json!({"n": 1}), &[("g", false)])], None);
        let compared = compare(&base, &new, &pair(&base, &new), Some("g"), 0.05);
        assert_eq!(compared.method, Method::Unpaired);
        assert_eq!(compared.verdict, Verdict::Inconclusive);
    }
}
