//! A key taken out of a parsed TOML table by the key path an error names
//! (`gateway[0].retry.max_attempts`), so the rest of the file can be checked again.

use toml::{Table, Value};

/// One step of a key path: a table key, or an array index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `gateway[0].retry` as its steps; `None` when it is not a plain key path.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for segment in path.split('.') {
        let mut parts = segment.split('[');
        let name = parts.next().filter(|n| !n.is_empty())?;
        steps.push(Step::Key(name));
        for index in parts {
            steps.push(Step::Index(index.strip_suffix(']')?.parse().ok()?));
        }
    }
    Some(steps)
}

/// Takes the key at `path` (`gateway[0].retry.max_attempts`) out of `table`; false when the
/// path does not name a key there (a whole-file or cross-key error).
pub(super) fn remove_key(table: &mut Table, path: &str) -> bool {
    let Some(steps) = steps(path) else {
        return false;
    };
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut root = Value::Table(std::mem::take(table));
    let mut at = Some(&mut root);
    for step in parents {
        at = match (at, step) {
            (Some(Value::Table(t)), Step::Key(key)) => t.get_mut(*key),
            (Some(Value::Array(a)), Step::Index(i)) => a.get_mut(*i),
            _ => None,
        };
    }
    let removed = match (at, last) {
        (Some(Value::Table(t)), Step::Key(key)) => t.remove(*key).is_some(),
        (Some(Value::Array(a)), Step::Index(i)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    };
    if let Value::Table(back) = root {
        *table = back;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_key_takes_out_table_keys_and_array_elements_only() {
        let mut table: Table =
            ("[server]\nworkers = 1\n[[gateway]]\nid = \"a\"\nretry = { max_attempts = 9 }\n\
             [[gateway]]\nid = \"b\"\n")
                .parse()
                .unwrap();
        assert!(remove_key(&mut table, "gateway[0].retry.max_attempts"));
        assert!(table["gateway"][0]["retry"].as_table().unwrap().is_empty());
        assert!(remove_key(&mut table, "gateway[1]"));
        assert_eq!(table["gateway"].as_array().unwrap().len(), 1);
        assert!(remove_key(&mut table, "server.workers"));
        for not_a_key in [
            "server.workers",
            "gateway[5].id",
            "gateway[x]",
            "",
            "gateway \"a\".id",
        ] {
            assert!(!remove_key(&mut table, not_a_key), "{not_a_key}");
        }
    }
}
