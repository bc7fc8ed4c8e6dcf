//! String similarity scorers, in RapidFuzz's shape: similarities in `0..=100`, distances in edits.
//!
//! All scorers work on Unicode scalar values (`char`s). [`default_process`] is RapidFuzz's default
//! processor: lower case, every non-alphanumeric character a space, trimmed.

/// The scorers [`extract_one`] can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scorer {
    /// [`ratio`].
    Ratio,
    /// [`jaro_winkler`].
    JaroWinkler,
    /// [`token_sort_ratio`].
    TokenSortRatio,
    /// [`token_set_ratio`].
    TokenSetRatio,
}

impl Scorer {
    /// The similarity of `a` and `b` in `0..=100`.
    pub fn score(self, a: &str, b: &str) -> f64 {
        match self {
            Self::Ratio => ratio(a, b),
            Self::JaroWinkler => jaro_winkler(a, b),
            Self::TokenSortRatio => token_sort_ratio(a, b),
            Self::TokenSetRatio => token_set_ratio(a, b),
        }
    }
}

/// RapidFuzz's `default_process`: lower-cases, turns every non-alphanumeric character into a space
/// and trims.
pub fn default_process(s: &str) -> String {
    let mapped: String = s
        .chars()
        .flat_map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().collect::<Vec<_>>()
            } else {
                vec![' ']
            }
        })
        .collect();
    mapped.trim().to_owned()
}

/// Levenshtein distance (insertions, deletions, substitutions each cost 1).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    levenshtein_chars(&a, &b)
}

fn levenshtein_chars<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions at cost 1.
/// On bytes, for VINs, plates and licence numbers.
#[allow(clippy::many_single_char_names)]
pub fn osa_distance(a: &[u8], b: &[u8]) -> usize {
    // Fast path for equal lengths within two substitutions (the common VIN and plate case).
    if a.len() == b.len() {
        let mut diff = [0usize; 3];
        let mut k = 0;
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                if k == 3 {
                    break;
                }
                diff[k] = i;
                k += 1;
            }
        }
        match k {
            0 | 1 => return k,
            2 if diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]] => return 1,
            2 => return 2,
            _ => {}
        }
    }
    let (n, m) = (a.len(), b.len());
    let w = m + 1;
    // Short inputs (VINs, plates) use the stack.
    let mut stack = [0usize; 1024];
    let mut heap = Vec::new();
    let d: &mut [usize] = if (n + 1) * w <= stack.len() {
        &mut stack[..(n + 1) * w]
    } else {
        heap.resize((n + 1) * w, 0);
        &mut heap
    };
    for i in 0..=n {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[n * w + m]
}

/// [`osa_distance`] capped at `k + 1`: `min(distance, k + 1)`, computed only within `k` of the
/// diagonal (Ukkonen's band), so deciding "within two edits?" costs a few dozen cells.
#[allow(clippy::many_single_char_names)]
pub fn osa_bounded(a: &[u8], b: &[u8], k: usize) -> usize {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > k {
        return k + 1;
    }
    if n == 0 || m == 0 {
        return n.max(m).min(k + 1);
    }
    if n > 32 || m > 32 || k > 8 {
        return osa_distance(a, b).min(k + 1);
    }
    let cap = u8::try_from(k + 1).unwrap_or(u8::MAX);
    let w = m + 1;
    let mut d = [cap; 33 * 33];
    for i in 0..=n.min(k) {
        d[i * w] = u8::try_from(i).unwrap_or(cap);
    }
    for (j, cell) in d.iter_mut().take(m.min(k) + 1).enumerate() {
        *cell = u8::try_from(j).unwrap_or(cap);
    }
    for i in 1..=n {
        let mut row_min = cap;
        for j in i.saturating_sub(k).max(1)..=(i + k).min(m) {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j].saturating_add(1))
                .min(d[i * w + j - 1].saturating_add(1))
                .min(d[(i - 1) * w + j - 1].saturating_add(cost));
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2].saturating_add(1));
            }
            let v = v.min(cap);
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min >= cap {
            return k + 1;
        }
    }
    usize::from(d[n * w + m])
}

/// Longest common subsequence length.
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for ca in a {
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = if ca == cb {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[allow(clippy::cast_precision_loss)]
fn ratio_chars(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 100.0;
    }
    // Indel distance = total − 2·LCS, normalised by the total length (RapidFuzz `fuzz.ratio`).
    200.0 * lcs(a, b) as f64 / total as f64
}

/// RapidFuzz `fuzz.ratio`: `100 · (1 − indel distance / (len a + len b))`; two empty strings score 100.
pub fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    ratio_chars(&a, &b)
}

/// Jaro similarity in `0..=1`.
#[allow(clippy::cast_precision_loss)]
fn jaro_chars(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_used = vec![false; b.len()];
    let mut a_matched = Vec::with_capacity(a.len());
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_used[j] && b[j] == *ca {
                b_used[j] = true;
                a_matched.push(*ca);
                break;
            }
        }
    }
    let m = a_matched.len();
    if m == 0 {
        return 0.0;
    }
    let b_matched = b.iter().zip(&b_used).filter(|(_, &u)| u).map(|(c, _)| c);
    let transpositions = a_matched.iter().zip(b_matched).filter(|(x, y)| x != y).count() / 2;
    let m = m as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64) / m) / 3.0
}

/// Jaro-Winkler similarity in `0..=100` (prefix scale 0.1, prefix up to 4 characters, as in
/// RapidFuzz `JaroWinkler.normalized_similarity` × 100).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    jaro_winkler_chars(&a, &b)
}

fn jaro_winkler_chars(a: &[char], b: &[char]) -> f64 {
    let sim = jaro_chars(a, b);
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    #[allow(clippy::cast_precision_loss)]
    let jw = if sim > 0.7 {
        sim + prefix as f64 * 0.1 * (1.0 - sim)
    } else {
        sim
    };
    100.0 * jw
}

fn sorted_tokens(s: &str) -> Vec<&str> {
    let mut t: Vec<&str> = s.split_whitespace().collect();
    t.sort_unstable();
    t
}

/// RapidFuzz `fuzz.token_sort_ratio`: [`ratio`] of the whitespace tokens sorted and re-joined.
pub fn token_sort_ratio(a: &str, b: &str) -> f64 {
    ratio(&sorted_tokens(a).join(" "), &sorted_tokens(b).join(" "))
}

/// RapidFuzz `fuzz.token_set_ratio`: compares the shared tokens with each side's whole token set,
/// so `"John Smith"` and `"Smith John A"` score high; 0 when either side has no tokens.
pub fn token_set_ratio(a: &str, b: &str) -> f64 {
    let mut ta = sorted_tokens(a);
    let mut tb = sorted_tokens(b);
    ta.dedup();
    tb.dedup();
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let common: Vec<&str> = ta
        .iter()
        .filter(|t| tb.binary_search(t).is_ok())
        .copied()
        .collect();
    let only_a: Vec<&str> = ta
        .iter()
        .filter(|t| tb.binary_search(t).is_err())
        .copied()
        .collect();
    let only_b: Vec<&str> = tb
        .iter()
        .filter(|t| ta.binary_search(t).is_err())
        .copied()
        .collect();
    if !common.is_empty() && (only_a.is_empty() || only_b.is_empty()) {
        return 100.0;
    }
    let sect = common.join(" ");
    let join = |rest: &[&str]| {
        if sect.is_empty() {
            rest.join(" ")
        } else if rest.is_empty() {
            sect.clone()
        } else {
            format!("{sect} {}", rest.join(" "))
        }
    };
    let (ca, cb) = (join(&only_a), join(&only_b));
    let mut best = ratio(&ca, &cb);
    if !sect.is_empty() {
        best = best.max(ratio(&sect, &ca)).max(ratio(&sect, &cb));
    }
    best
}

/// The best-scoring choice: `(index, score)`, or `None` when no choice reaches `score_cutoff`.
/// Ties go to the first choice.
pub fn extract_one<S: AsRef<str>>(
    query: &str,
    choices: &[S],
    scorer: Scorer,
    score_cutoff: f64,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in choices.iter().enumerate() {
        let s = scorer.score(query, c.as_ref());
        if s >= score_cutoff && best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
            if s >= 100.0 {
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    #[test]
    fn jaro_winkler_known_values() {
        // Classic values from Winkler (1990) and the RapidFuzz docs.
        let cases = [
            ("MARTHA", "MARHTA", 96.11),
            ("DWAYNE", "DUANE", 84.0),
            ("DIXON", "DICKSONX", 81.33),
            ("", "", 100.0),
            ("abc", "", 0.0),
            ("abc", "xyz", 0.0),
            ("same", "same", 100.0),
        ];
        for (a, b, want) in cases {
            assert!(close(jaro_winkler(a, b), want), "{a} {b}: {}", jaro_winkler(a, b));
            assert!(close(jaro_winkler(b, a), want), "symmetric {a} {b}");
        }
    }

    #[test]
    fn ratio_and_tokens() {
        assert!(close(ratio("this is a test", "this is a test!"), 96.55));
        assert!(close(ratio("", ""), 100.0));
        assert!(close(token_sort_ratio("smith john", "john smith"), 100.0));
        assert!(close(token_set_ratio("john smith", "smith john a"), 100.0));
        assert!(close(
            token_set_ratio("fuzzy was a bear", "fuzzy fuzzy was a bear"),
            100.0
        ));
        assert!(close(token_set_ratio("", "x"), 0.0));
        assert!(token_set_ratio("john smyth", "jon smith") > 60.0);
    }

    #[test]
    fn distances() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(osa_distance(b"ca", b"ac"), 1);
        assert_eq!(osa_distance(b"1FTFW1E50", b"1FTFWE150"), 1);
        assert_eq!(osa_distance(b"abc", b"abc"), 0);
        assert_eq!(osa_distance(b"", b"ab"), 2);
        assert_eq!(osa_distance(b"abcdef", b"abdcef"), 1);
        assert_eq!(osa_distance(b"abcdef", b"abxyef"), 2);
        assert_eq!(
            osa_distance(b"abcdef", b"bcdefa"),
            2,
            "equal length, shifted: the slow path"
        );
        assert_eq!(osa_distance(b"abcdef", b"ab",), 4);
        let long = [b'a'; 40];
        assert_eq!(osa_distance(&long, &long[..30]), 10);
    }

    /// The textbook DP, to check the fast path against.
    #[allow(clippy::many_single_char_names, clippy::needless_range_loop)]
    fn osa_reference(a: &[u8], b: &[u8]) -> usize {
        let (n, m) = (a.len(), b.len());
        let mut d = vec![vec![0usize; m + 1]; n + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for j in 0..=m {
            d[0][j] = j;
        }
        for i in 1..=n {
            for j in 1..=m {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[n][m]
    }

    #[test]
    fn osa_fast_path_agrees_with_reference() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let n = rng.usize(0..9);
            let a: Vec<u8> = (0..n).map(|_| b"abc"[rng.usize(0..3)]).collect();
            let mut b = a.clone();
            for _ in 0..rng.usize(0..4) {
                if !b.is_empty() {
                    let i = rng.usize(0..b.len());
                    b[i] = b"abc"[rng.usize(0..3)];
                }
            }
            if rng.bool() {
                b = (0..rng.usize(0..9)).map(|_| b"abc"[rng.usize(0..3)]).collect();
            }
            let want = osa_reference(&a, &b);
            assert_eq!(osa_distance(&a, &b), want, "{a:?} {b:?}");
            for k in 0..4 {
                assert_eq!(osa_bounded(&a, &b, k), want.min(k + 1), "{a:?} {b:?} k={k}");
            }
        }
    }

    #[test]
    fn process_and_extract() {
        assert_eq!(default_process("  Truck #4 (Ford) "), "truck  4  ford");
        let choices = ["Truck 4", "Truck 40", "Van 4"];
        assert_eq!(
            extract_one("Truck 4", &choices, Scorer::Ratio, 0.0),
            Some((0, 100.0))
        );
        assert_eq!(extract_one("zzz", &choices, Scorer::JaroWinkler, 90.0), None);
        let empty: [&str; 0] = [];
        assert_eq!(extract_one("x", &empty, Scorer::TokenSetRatio, 0.0), None);
    }
}
