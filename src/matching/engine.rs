//! The record-matching engine shared by vehicles and drivers: blocking, scoring, one-to-one
//! assignment with a review list.
//!
//! Blocking: every right record is indexed under a few hashed keys (external ids, exact
//! identifiers, VIN segments, plate, unit number, name tokens); each left record is scored only
//! against the right records sharing a key, so the work grows with the number of true candidates,
//! not with `left × right`. Keys whose bucket is larger than [`MAX_BUCKET`] are skipped for the fuzzy
//! kinds, which bounds the worst case.
//!
//! Assignment: candidates at or above the cutoff are taken best first; a record links at most once.
//! When another still-open candidate for either record scores within `review_margin` of the best,
//! the records go to the review list instead of being guessed. A near miss — the best still-open
//! candidate of both its records, below the cutoff by at most the record type's `near_miss` points
//! — goes to review too, rather than leaving both records unmatched.

use super::{Link, MatchOptions, MatchResult, Reasons};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for keys that already are well-mixed 64-bit hashes ([`key`]): passes them through.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The largest bucket a fuzzy blocking key may have and still produce candidates.
pub(crate) const MAX_BUCKET: usize = 64;

/// 64-bit FNV-1a over a key kind and its parts (collisions only add candidates; scoring decides).
pub(crate) fn key(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for p in parts {
        for &b in *p {
            eat(b);
        }
        eat(0xff);
    }
    h
}

/// A blocking key and whether it is exact (never capped) or fuzzy (capped at [`MAX_BUCKET`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockKey {
    pub(crate) hash: u64,
    pub(crate) exact: bool,
}

/// What the engine needs from a prepared record type.
pub(crate) trait Prepared {
    /// Keys under which the record is indexed (right side) …
    fn index_keys(&self, out: &mut Vec<BlockKey>);
    /// … and looked up (left side). Defaults to the same keys.
    fn query_keys(&self, out: &mut Vec<BlockKey>) {
        self.index_keys(out);
    }
    /// The pair's score in `0..=100` and the reasons behind it. `cutoff` lets the scorer skip work
    /// for a pair that cannot reach it (its score is then below `cutoff` and the pair is dropped).
    fn score(&self, other: &Self, cutoff: f64) -> (f64, Reasons);
}

/// A scored pair.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    left: u32,
    right: u32,
    score: f64,
    reasons: Reasons,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Linked,
    Review,
}

/// Matches `left` against `right`; indices in the result refer to the input slices. Pairs scoring
/// at most `near_miss` points below the cutoff may go to review (see [`assign`]).
pub(crate) fn run<P: Prepared>(left: &[P], right: &[P], opts: &MatchOptions, near_miss: f64) -> MatchResult {
    let floor = opts.score_cutoff - near_miss.max(0.0);
    // The index: one sorted vector of (key, right index) holding every posting, and a map from key
    // to its range in it. No allocation per key, about half the memory of a map of vectors.
    let mut postings: Vec<(u64, u32)> = Vec::with_capacity(right.len() * 12);
    let mut keys = Vec::new();
    for (j, r) in right.iter().enumerate() {
        keys.clear();
        r.index_keys(&mut keys);
        let j = u32::try_from(j).unwrap_or(u32::MAX);
        postings.extend(keys.iter().map(|k| (k.hash, j)));
    }
    postings.sort_unstable();
    postings.dedup();
    let mut ranges: HashMap<u64, (u32, u32), BuildHasherDefault<PreHashed>> =
        HashMap::with_capacity_and_hasher(postings.len(), BuildHasherDefault::default());
    let mut start = 0;
    while start < postings.len() {
        let h = postings[start].0;
        let end = start + postings[start..].iter().take_while(|e| e.0 == h).count();
        let (s32, e32) = (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        );
        ranges.insert(h, (s32, e32));
        start = end;
    }
    let mut cands = Vec::new();
    let mut seen: Vec<u32> = Vec::new();
    for (i, l) in left.iter().enumerate() {
        keys.clear();
        l.query_keys(&mut keys);
        seen.clear();
        for k in &keys {
            if let Some(&(lo, hi)) = ranges.get(&k.hash) {
                if k.exact || (hi - lo) as usize <= MAX_BUCKET {
                    seen.extend(postings[lo as usize..hi as usize].iter().map(|e| e.1));
                }
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        for &j in &seen {
            let (score, reasons) = l.score(&right[j as usize], floor);
            if score >= floor {
                cands.push(Candidate {
                    left: i,
                    right: j,
                    score,
                    reasons,
                });
            }
        }
    }
    assign(left.len(), right.len(), cands, opts)
}

fn link(c: &Candidate) -> Link {
    Link {
        left: c.left as usize,
        right: c.right as usize,
        score: c.score,
        reasons: c.reasons,
    }
}

/// One-to-one assignment, best first, with near-ties sent to review. Candidates below the cutoff
/// (near misses) never link: one whose records are both still open goes to review with its
/// near-tied rivals.
fn assign(n_left: usize, n_right: usize, mut cands: Vec<Candidate>, opts: &MatchOptions) -> MatchResult {
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.left.cmp(&b.left))
            .then(a.right.cmp(&b.right))
    });
    let mut by_left: Vec<Vec<u32>> = vec![Vec::new(); n_left];
    let mut by_right: Vec<Vec<u32>> = vec![Vec::new(); n_right];
    for (k, c) in cands.iter().enumerate() {
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        by_left[c.left as usize].push(k);
        by_right[c.right as usize].push(k);
    }
    let mut ls = vec![State::Free; n_left];
    let mut rs = vec![State::Free; n_right];
    let mut links = Vec::new();
    let mut review = Vec::new();
    let mut rivals: Vec<u32> = Vec::new();
    for (k, c) in cands.iter().enumerate() {
        let (l, r) = (c.left as usize, c.right as usize);
        if ls[l] != State::Free || rs[r] != State::Free {
            continue;
        }
        let near_miss = c.score < opts.score_cutoff;
        // A linkable pair is contested only by linkable rivals; a near miss by any within the margin.
        let floor = if near_miss {
            c.score - opts.review_margin
        } else {
            (c.score - opts.review_margin).max(opts.score_cutoff)
        };
        rivals.clear();
        for &o in by_left[l].iter().chain(&by_right[r]) {
            let oc = &cands[o as usize];
            if o as usize != k
                && oc.score >= floor
                && ls[oc.left as usize] == State::Free
                && rs[oc.right as usize] == State::Free
            {
                rivals.push(o);
            }
        }
        if rivals.is_empty() && !near_miss {
            ls[l] = State::Linked;
            rs[r] = State::Linked;
            links.push(link(c));
        } else {
            ls[l] = State::Review;
            rs[r] = State::Review;
            review.push(link(c));
            rivals.sort_unstable();
            rivals.dedup();
            review.extend(rivals.iter().map(|&o| link(&cands[o as usize])));
        }
    }
    // A record named in the review list is not "unmatched", even if it was only a rival.
    for l in &review {
        if ls[l.left] == State::Free {
            ls[l.left] = State::Review;
        }
        if rs[l.right] == State::Free {
            rs[l.right] = State::Review;
        }
    }
    let unmatched_left = (0..n_left).filter(|&i| ls[i] == State::Free).collect();
    let unmatched_right = (0..n_right).filter(|&j| rs[j] == State::Free).collect();
    MatchResult {
        links,
        review,
        unmatched_left,
        unmatched_right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Reason;

    /// A toy record: an integer and a tolerance, scored 100 − 10 × distance.
    struct Toy(i32);

    impl Prepared for Toy {
        fn index_keys(&self, out: &mut Vec<BlockKey>) {
            out.push(BlockKey {
                hash: key(b't', &[]),
                exact: false,
            });
        }
        fn score(&self, other: &Self, _cutoff: f64) -> (f64, Reasons) {
            (
                100.0 - 10.0 * f64::from((self.0 - other.0).abs()),
                Reasons::from(Reason::NameSimilar),
            )
        }
    }

    #[test]
    fn one_to_one_and_review() {
        let opts = MatchOptions {
            score_cutoff: 60.0,
            review_margin: 5.0,
            near_miss: None,
        };
        // 1↔1 exact; 20 is equally close to 19 and 21 → review; 50 has no partner.
        let left = [Toy(1), Toy(20), Toy(50)];
        let right = [Toy(1), Toy(19), Toy(21), Toy(90)];
        let res = run(&left, &right, &opts, 0.0);
        assert_eq!(res.links.len(), 1);
        assert_eq!((res.links[0].left, res.links[0].right), (0, 0));
        assert_eq!(res.review.len(), 2);
        assert!(res.review.iter().all(|l| l.left == 1));
        assert_eq!(res.unmatched_left, vec![2]);
        assert_eq!(res.unmatched_right, vec![3]);
    }

    #[test]
    fn best_pair_wins() {
        let opts = MatchOptions {
            score_cutoff: 60.0,
            review_margin: 5.0,
            near_miss: None,
        };
        let left = [Toy(10), Toy(12)];
        let right = [Toy(10)];
        let res = run(&left, &right, &opts, 0.0);
        assert_eq!(res.links.len(), 1);
        assert_eq!(res.links[0].left, 0);
        assert_eq!(res.unmatched_left, vec![1]);
        assert!(res.review.is_empty());
    }

    #[test]
    fn near_misses_go_to_review() {
        let opts = MatchOptions {
            score_cutoff: 60.0,
            review_margin: 5.0,
            near_miss: None,
        };
        // 50 ↔ 53 scores 70 and links; 10 ↔ 14 scores 60 and links although 10 ↔ 15 scores 50
        // (a rival below the cutoff does not contest a link); 80 ↔ 85 scores 50: a near miss, to
        // review; 95 has nothing within 20 points of the cutoff.
        let left = [Toy(50), Toy(10), Toy(80), Toy(95)];
        let right = [Toy(53), Toy(14), Toy(15), Toy(85), Toy(200)];
        let res = run(&left, &right, &opts, 20.0);
        let links: Vec<(usize, usize)> = res.links.iter().map(|l| (l.left, l.right)).collect();
        assert_eq!(links, vec![(0, 0), (1, 1)]);
        let review: Vec<(usize, usize)> = res.review.iter().map(|l| (l.left, l.right)).collect();
        assert_eq!(review, vec![(2, 3)]);
        assert!(res.review.iter().all(|l| l.score < opts.score_cutoff));
        assert_eq!(res.unmatched_left, vec![3]);
        assert_eq!(res.unmatched_right, vec![2, 4]);
        // Without a near-miss allowance the same pair is simply unmatched.
        let res = run(&left, &right, &opts, 0.0);
        assert!(res.review.is_empty());
        assert_eq!(res.unmatched_left, vec![2, 3]);
    }
}
