//! Sets of half-open intervals.

use super::{Ms, Span};

/// The union of `spans`, as sorted, disjoint, non-touching intervals. Empty and inverted
/// intervals are dropped; touching ones (`[a, b)` and `[b, c)`) merge.
pub fn union(mut spans: Vec<Span>) -> Vec<Span> {
    // The merge needs the starts in order only; often they are already (one platform's
    // engagements).
    if !spans.is_sorted_by_key(|&(s, _)| s) {
        spans.sort_unstable();
    }
    let mut out = Vec::with_capacity(spans.len());
    spans.into_iter().for_each(|span| add_in_order(&mut out, span));
    out
}

/// The union of lists each sorted by start (a worker's platforms' unions), merged in start
/// order: linear for the few lists a worker has.
pub fn union_of_sorted(lists: &[&[Span]]) -> Vec<Span> {
    let mut next = vec![0; lists.len()];
    let mut out = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    loop {
        // The list whose next span starts first.
        let first = (0..lists.len()).filter_map(|i| lists[i].get(next[i]).map(|&(s, _)| (s, i))).min();
        let Some((_, i)) = first else { return out };
        add_in_order(&mut out, lists[i][next[i]]);
        next[i] += 1;
    }
}

/// Adds `span` to a union built in start order: it extends the last span if it overlaps
/// or touches it.
fn add_in_order(out: &mut Vec<Span>, (s, e): Span) {
    if e <= s {
        return;
    }
    match out.last_mut() {
        Some(last) if s <= last.1 => last.1 = last.1.max(e),
        _ => out.push((s, e)),
    }
}

/// The total length of disjoint intervals.
pub fn total(spans: &[Span]) -> Ms {
    spans.iter().map(|(s, e)| e - s).sum()
}

/// The length of the overlap of two intervals.
pub fn overlap(a: Span, b: Span) -> Ms {
    (a.1.min(b.1) - a.0.max(b.0)).max(0)
}

/// The parts of sorted disjoint `spans` inside `window`.
pub fn clip(spans: &[Span], window: Span) -> Vec<Span> {
    spans
        .iter()
        .filter_map(|&(s, e)| {
            let (s, e) = (s.max(window.0), e.min(window.1));
            (e > s).then_some((s, e))
        })
        .collect()
}

/// The parts of sorted disjoint `spans` inside `window`, found by binary search.
pub fn clip_sorted(spans: &[Span], window: Span) -> impl Iterator<Item = Span> + '_ {
    let first = spans.partition_point(|&(_, e)| e <= window.0);
    spans[first..].iter().take_while(move |&&(s, _)| s < window.1).filter_map(move |&(s, e)| {
        let (s, e) = (s.max(window.0), e.min(window.1));
        (e > s).then_some((s, e))
    })
}

/// Whether any of sorted disjoint `spans` overlaps `window`.
pub fn overlaps_any(spans: &[Span], window: Span) -> bool {
    clip_sorted(spans, window).next().is_some()
}

/// Whether instant `t` lies in one of sorted disjoint `spans`.
pub fn contains(spans: &[Span], t: Ms) -> bool {
    let i = spans.partition_point(|&(_, e)| e <= t);
    spans.get(i).is_some_and(|&(s, _)| s <= t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn touching_and_zero_length_intervals() {
        assert_eq!(union(vec![(2, 3), (1, 2), (5, 5), (7, 6)]), vec![(1, 3)]);
        assert_eq!(union(vec![]), vec![]);
        assert!(contains(&[(1, 3)], 1) && contains(&[(1, 3)], 2) && !contains(&[(1, 3)], 3));
    }

    fn spans() -> impl Strategy<Value = Vec<Span>> {
        proptest::collection::vec((0i64..10_000, 0i64..600), 0..60)
            .prop_map(|v| v.into_iter().map(|(s, l)| (s, s + l)).collect())
    }

    proptest! {
        #[test]
        fn the_union_is_never_longer_than_the_sum_nor_shorter_than_the_longest(v in spans()) {
            let u = union(v.clone());
            let sum: Ms = v.iter().map(|(s, e)| e - s).sum();
            let longest = v.iter().map(|(s, e)| e - s).max().unwrap_or(0);
            prop_assert!(total(&u) <= sum);
            prop_assert!(total(&u) >= longest);
            prop_assert!(u.windows(2).all(|w| w[0].1 < w[1].0));
        }

        #[test]
        fn the_union_does_not_depend_on_input_order(v in spans(), seed in any::<u64>()) {
            let mut shuffled = v.clone();
            let n = shuffled.len();
            for i in (1..n).rev() {
                shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(union(v), union(shuffled));
        }

        #[test]
        fn merging_sorted_unions_is_the_union_of_all(a in spans(), b in spans(), c in spans()) {
            let all: Vec<Span> = a.iter().chain(&b).chain(&c).copied().collect();
            let (a, b, c) = (union(a), union(b), union(c));
            prop_assert_eq!(union_of_sorted(&[&a, &b, &c]), union(all));
        }

        #[test]
        fn every_covered_instant_stays_covered(v in spans(), t in 0i64..11_000) {
            let covered = v.iter().any(|&(s, e)| s <= t && t < e);
            prop_assert_eq!(contains(&union(v), t), covered);
        }

        #[test]
        fn the_binary_search_clip_equals_the_plain_one(v in spans(), a in 0i64..11_000, len in 0i64..3000) {
            let u = union(v);
            prop_assert_eq!(clip_sorted(&u, (a, a + len)).collect::<Vec<_>>(), clip(&u, (a, a + len)));
        }

        #[test]
        fn clipping_at_a_point_preserves_the_total(v in spans(), cut in 0i64..11_000) {
            let u = union(v);
            let all = total(&u);
            prop_assert_eq!(total(&clip(&u, (i64::MIN, cut))) + total(&clip(&u, (cut, i64::MAX))), all);
        }
    }
}
