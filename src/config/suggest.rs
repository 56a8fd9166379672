//! "Did you mean ...?" for misspelt names in the config: the nearest valid name by edit
//! distance, offered only when it is close enough to be the likely intent.

/// The candidate nearest to `name`, if within a third of its length (at least 1, at most 3
/// edits), as `; did you mean `X`?` ready to append to a message; else empty.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map_or_else(String::new, |(_, c)| format!("; did you mean `{c}`?"))
}

/// Levenshtein distance over chars (names are short: one row of memory).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_and_far_ones_are_not() {
        let names = ["anthropic", "openai", "groq"];
        assert_eq!(
            did_you_mean("anthropicc", names),
            "; did you mean `anthropic`?"
        );
        assert_eq!(did_you_mean("opnai", names), "; did you mean `openai`?");
        assert_eq!(did_you_mean("grok", names), "; did you mean `groq`?");
        assert_eq!(did_you_mean("nosuchprovider", names), "");
        assert_eq!(did_you_mean("x", names), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
