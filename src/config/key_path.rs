//! A key taken out of a parsed TOML table by the key path an error names
//! (`gateway[0].retry.max_attempts`), so the rest of the file can be checked again.

use toml::Table;

/// Takes the key at `path` (`gateway[0].retry.max_attempts`) out of `table`; false when the
/// path does not name a key there (a whole-file or cross-key error).
pub(super) fn remove_key(table: &mut Table, path: &str) -> bool {
    let mut segments: Vec<(&str, Vec<usize>)> = Vec::new();
    for segment in path.split('.') {
        let mut parts = segment.split('[');
        let name = parts.next().unwrap_or_default();
        let indexes: Option<Vec<usize>> = parts
            .map(|p| p.strip_suffix(']').and_then(|i| i.parse().ok()))
            .collect();
        match indexes {
            Some(indexes) if !name.is_empty() => segments.push((name, indexes)),
            _ => return false,
        }
    }
    let Some(((last, last_indexes), parents)) = segments.split_last() else {
        return false;
    };
    let mut at = table;
    for (name, indexes) in parents {
        let mut value = match at.get_mut(*name) {
            Some(value) => value,
            None => return false,
        };
        for index in indexes {
            value = match value.as_array_mut().and_then(|a| a.get_mut(*index)) {
                Some(value) => value,
                None => return false,
            };
        }
        at = match value.as_table_mut() {
            Some(table) => table,
            None => return false,
        };
    }
    match last_indexes.split_last() {
        None => at.remove(*last).is_some(),
        Some((final_index, inner)) => {
            let mut value = match at.get_mut(*last) {
                Some(value) => value,
                None => return false,
            };
            for index in inner {
                value = match value.as_array_mut().and_then(|a| a.get_mut(*index)) {
                    Some(value) => value,
                    None => return false,
                };
            }
            match value.as_array_mut() {
                Some(array) if *final_index < array.len() => {
                    array.remove(*final_index);
                    true
                }
                _ => false,
            }
        }
    }
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
