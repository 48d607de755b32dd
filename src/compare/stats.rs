//! The statistics of a comparison, as pure functions pinned by hand-computed cases: the exact
//! two-sided McNemar test on the discordant pairs of paired pass/fail outcomes, the
//! Agresti-Min interval for the difference of paired proportions, Fisher's exact test for
//! outcomes that could not be paired, and the verdict they lead to.
//!
//! Agresti, A. and Min, Y. (2005), "Simple improved confidence intervals for comparing
//! matched proportions", Statistics in Medicine 24(5):729-740: add one half to each cell of
//! the paired 2x2 table, then take the Wald interval. The reference implementation is
//! `diffpropci.mp` of the R package PropCIs; the bounds pinned below were computed from
//! its formula independently of this code (no R on this machine to run it).

/// The standard normal quantile for a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// Exact two-sided McNemar p-value for `b` and `c` discordant pairs (pass->fail and
/// fail->pass): twice the binomial(b + c, 1/2) tail of the smaller count, at most 1.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    if n <= 120 {
        // Exactly, in integers: C(n, i) fits u128 below n = 128, and dividing by 2^n only
        // moves the exponent, so the p-value is the correctly rounded double.
        let mut term: u128 = 1;
        let mut tail: u128 = 1;
        for i in 1..=u128::from(k) {
            term = term * (u128::from(n) - i + 1) / i;
            tail += term;
        }
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        return (2.0 * tail as f64 * 2f64.powi(-exponent)).min(1.0);
    }
    // In logarithms beyond, where C(n, i) overflows.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let tail: f64 = (0..=k).map(|i| (ln_choose(n, i) + ln_half_n).exp()).sum();
    (2.0 * tail).min(1.0)
}

/// The 95% Agresti-Min interval of `new - base` pass rate over `n` pairs with `b` pass->fail
/// and `c` fail->pass, clamped to [-1, 1].
pub fn agresti_min_95(b: u64, c: u64, n: u64) -> (f64, f64) {
    let (b, c, n) = (b as f64, c as f64, n as f64);
    let delta = (c - b) / (n + 2.0);
    let sd = ((b + c + 1.0) - (c - b).powi(2) / (n + 2.0))
        .max(0.0)
        .sqrt()
        / (n + 2.0);
    ((delta - Z_95 * sd).max(-1.0), (delta + Z_95 * sd).min(1.0))
}

/// Fisher's exact two-sided p-value for the 2x2 table `[[a, b], [c, d]]` (rows: base and
/// new; columns: passed and failed): the probability of every table with the same margins
/// that is no more likely than the one observed.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (row1, row2, col1) = (a + b, c + d, a + c);
    let n = row1 + row2;
    let ln_p = |x: u64| ln_choose(row1, x) + ln_choose(row2, col1 - x) - ln_choose(n, col1);
    let observed = ln_p(a);
    let low = col1.saturating_sub(row2);
    let high = row1.min(col1);
    // A relative tolerance, as R's fisher.test uses, so equal probabilities count alike.
    let p: f64 = (low..=high)
        .map(ln_p)
        .filter(|ln| *ln <= observed + 1e-7)
        .map(f64::exp)
        .sum();
    p.min(1.0)
}

/// ln C(n, k) through ln Γ, exact enough for p-values (relative error near 1e-12).
fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

fn ln_factorial(n: u64) -> f64 {
    // Exact sums for small n; Stirling's series beyond, where it is exact to double precision.
    if n < 256 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x.powi(3))
        + 1.0 / (1260.0 * x.powi(5))
}

/// What a comparison says about the new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Unchanged,
    Regressed,
    /// Too few discordant pairs for any split of them to be significant.
    Inconclusive,
}

/// The fewest discordant pairs whose most lopsided split is significant at `alpha`.
pub fn min_discordant(alpha: f64) -> u64 {
    (1..=64)
        .find(|n| mcnemar_exact(*n, 0) < alpha)
        .unwrap_or(u64::MAX)
}

/// The verdict of a comparison of `paired` pairs at `alpha`: a significant change up or
/// down; a change within noise, or no discordant pair among enough pairs that some could
/// have been significant, is unchanged; too few discordant pairs to ever be significant is
/// inconclusive.
pub fn verdict(pass_to_fail: u64, fail_to_pass: u64, paired: u64, alpha: f64) -> Verdict {
    let discordant = pass_to_fail + fail_to_pass;
    let needed = min_discordant(alpha);
    if discordant == 0 {
        return match paired >= needed {
            true => Verdict::Unchanged,
            false => Verdict::Inconclusive,
        };
    }
    if discordant < needed {
        return Verdict::Inconclusive;
    }
    match mcnemar_exact(pass_to_fail, fail_to_pass) < alpha {
        false => Verdict::Unchanged,
        true if fail_to_pass > pass_to_fail => Verdict::Improved,
        true => Verdict::Regressed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn exact_mcnemar_by_hand() {
        // (10, 3): 2 * (C(13,0) + C(13,1) + C(13,2) + C(13,3)) / 2^13 = 2 * 378 / 8192.
        assert!(close(mcnemar_exact(10, 3), 756.0 / 8192.0));
        assert!(close(mcnemar_exact(3, 10), 756.0 / 8192.0));
        // (5, 0): 2 / 2^5.
        assert!(close(mcnemar_exact(5, 0), 0.0625));
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(1, 1), 1.0);
        // (20, 5): 2 * sum_{i<=5} C(25, i) / 2^25 = 2 * 68406 / 33554432.
        assert!(close(mcnemar_exact(20, 5), 136_812.0 / 33_554_432.0));
        // Large counts stay finite and symmetric.
        let big = mcnemar_exact(5_000, 5_300);
        assert!(big > 0.0 && big < 0.01 && close(big, mcnemar_exact(5_300, 5_000)));
    }

    #[test]
    fn agresti_min_bounds_match_propcis() {
        // diffpropci.mp's formula for b = 10, c = 3, n = 100, conf.level = 0.95.
        let (low, high) = agresti_min_95(10, 3, 100);
        assert!(close(low, -0.139_280_346_747_319_6), "{low}");
        assert!(close(high, 0.002_025_444_786_535_282_6), "{high}");
        let (low, high) = agresti_min_95(0, 0, 20);
        assert!(close(low, -0.089_089_272_024_547_92) && close(high, -low));
        // Clamped to [-1, 1].
        let (low, high) = agresti_min_95(5, 0, 5);
        assert_eq!(low, -1.0);
        assert!(close(high, -0.277_945_247_706_086_3), "{high}");
    }

    #[test]
    fn fisher_exact_by_hand() {
        // From the definition (the sum over tables with these margins no likelier than the
        // observed one), as R's fisher.test(matrix(c(8, 1, 2, 5), 2)) computes it.
        assert!(close(fisher_exact(8, 2, 1, 5), 0.034_965_034_965_034_96));
        assert!(close(
            fisher_exact(40, 10, 30, 20),
            0.048_581_631_612_940_976
        ));
        assert!(close(fisher_exact(5, 5, 5, 5), 1.0));
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            [0.05, 0.01, 0.001].map(min_discordant),
            [6, 8, 11],
            "checked against a binomial search"
        );
        assert_eq!(verdict(0, 0, 100, 0.05), Verdict::Unchanged);
        // One pair, the same in both runs: no outcome of it could have told anything.
        assert_eq!(verdict(0, 0, 1, 0.05), Verdict::Inconclusive);
        assert_eq!(verdict(5, 0, 100, 0.05), Verdict::Inconclusive);
        assert_eq!(verdict(10, 3, 100, 0.05), Verdict::Unchanged);
        assert_eq!(verdict(20, 5, 100, 0.05), Verdict::Regressed);
        assert_eq!(verdict(5, 20, 100, 0.05), Verdict::Improved);
        assert_eq!(verdict(6, 0, 100, 0.05), Verdict::Regressed);
        assert_eq!(verdict(5, 0, 100, 0.1), Verdict::Regressed);
    }

    #[test]
    fn ln_factorial_joins_its_two_ways() {
        let summed: f64 = (2..=256u64).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(256) - summed).abs() < 1e-9);
    }
}
