//! "did you mean `name`?" for a misspelt option or value.

/// The candidate `typo` most likely stands for: the nearest by edit distance
/// within rustc's own threshold (a third of the length), or one that contains
/// the other (`namespace` for `name`, `threads` for `worker_threads`).
pub(crate) fn did_you_mean<'a>(typo: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let typo = typo.to_ascii_lowercase();
    let threshold = typo.len().max(3) / 3;
    let nearest = candidates
        .iter()
        .map(|&c| (distance(&typo, c), c))
        .filter(|&(d, _)| d <= threshold)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c);
    nearest.or_else(|| {
        candidates
            .iter()
            .copied()
            .find(|c| typo.len() >= 3 && (c.contains(&*typo) || typo.contains(c)))
    })
}

/// Optimal string alignment distance: Levenshtein plus the swap of two
/// neighbouring characters as one edit, the commonest typo (`nmae`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i chars of a and the first j of b.
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[&str] = &["name", "flavor", "worker_threads"];

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("name", "name"), 0);
        assert_eq!(distance("nmae", "name"), 1, "a swap is one edit");
        assert_eq!(distance("nam", "name"), 1);
        assert_eq!(distance("flavour", "flavor"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_find_their_option() {
        assert_eq!(did_you_mean("nmae", OPTIONS), Some("name"));
        assert_eq!(did_you_mean("Name", OPTIONS), Some("name"));
        assert_eq!(did_you_mean("flavour", OPTIONS), Some("flavor"));
        assert_eq!(
            did_you_mean("worker_thread", OPTIONS),
            Some("worker_threads")
        );
        assert_eq!(
            did_you_mean("workerthreads", OPTIONS),
            Some("worker_threads")
        );
    }

    #[test]
    fn containment_finds_their_option() {
        assert_eq!(did_you_mean("namespace", OPTIONS), Some("name"));
        assert_eq!(did_you_mean("threads", OPTIONS), Some("worker_threads"));
    }

    #[test]
    fn unrelated_words_find_nothing() {
        assert_eq!(did_you_mean("colour", OPTIONS), None);
        assert_eq!(did_you_mean("ns", OPTIONS), None);
        assert_eq!(did_you_mean("timeout", OPTIONS), None);
        assert_eq!(did_you_mean("x", OPTIONS), None);
    }

    #[test]
    fn flavor_values() {
        let flavors = &["current_thread", "multi_thread"];
        assert_eq!(did_you_mean("multithread", flavors), Some("multi_thread"));
        assert_eq!(
            did_you_mean("current-thread", flavors),
            Some("current_thread")
        );
        assert_eq!(did_you_mean("multi", flavors), Some("multi_thread"));
    }
}
