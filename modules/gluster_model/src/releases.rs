//! What each Gluster release changes, from data files that say where their facts come from: the
//! op-version it supports (data/op-versions.txt, glusterd's own constants), which stands in for
//! `cluster.max-op-version` before 3.10; and whether it stores volume definitions differently
//! (data/store-format.txt), which makes servers on either side reject each other.

const TABLE: &str = include_str!("../data/op-versions.txt");

/// (major, minor, patch) of a release as gluster or a package prints it: "3.8.15", "10.3",
/// "11.1-3~bpo12+1" (a missing patch is 0).
pub fn release_parts(text: &str) -> Option<(u32, u32, u32)> {
    let upstream = text.trim().split(['-', '~', '+']).next()?;
    let mut parts = upstream.split('.').map(str::parse::<u32>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// The table's rows: (release, op-version), oldest first.
fn rows() -> impl Iterator<Item = ((u32, u32, u32), u64)> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((release_parts(cols.next()?)?, cols.next()?.parse().ok()?))
        })
}

/// The highest op-version introduced at or before `release`; None before 3.6, whose op-versions
/// were counters (1 to 3), and for a release that cannot be read.
pub fn supported_op_version(release: &str) -> Option<u64> {
    let r = release_parts(release)?;
    rows().filter(|(introduced, _)| *introduced <= r).map(|(_, v)| v).last()
}

/// Whether glusterd of this release can report `cluster.max-op-version` (added in 3.10).
pub fn reports_max_op_version(release: &str) -> bool {
    release_parts(release).is_some_and(|r| r >= (3, 10, 0))
}

const STORE_FORMAT: &str = include_str!("../data/store-format.txt");

/// The releases after `from` up to `to` whose glusterd stores a volume's definition differently
/// (data/store-format.txt): (release, what changed). Servers on either side of one reject each
/// other until they run the same release.
pub fn store_format_changes(from: &str, to: &str) -> Vec<(String, String)> {
    let (Some(from), Some(to)) = (release_parts(from), release_parts(to)) else {
        return Vec::new();
    };
    STORE_FORMAT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (release, what) = l.split_once(char::is_whitespace)?;
            let r = release_parts(release)?;
            (from < r && r <= to).then(|| (release.to_string(), what.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_ordered_and_follows_the_release_rule_from_3_6() {
        let rows: Vec<_> = rows().collect();
        assert!(rows.len() > 30);
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{rows:?}");
        for ((x, y, z), v) in rows {
            assert_eq!(v, u64::from(x) * 10000 + u64::from(y) * 100 + u64::from(z));
        }
    }

    #[test]
    fn a_release_supports_the_last_op_version_introduced_at_or_before_it() {
        assert_eq!(
            supported_op_version("3.9.0"),
            Some(30900),
            "the 3.9 guide's cluster.op-version"
        );
        assert_eq!(supported_op_version("3.8.15"), Some(30804));
        assert_eq!(supported_op_version("3.7.11"), Some(30710));
        assert_eq!(supported_op_version("3.12.15"), Some(31203));
        assert_eq!(supported_op_version("10.3"), Some(100000), "as a real 10.3 reports");
        assert_eq!(
            supported_op_version("11.1-3~bpo12+1"),
            Some(110000),
            "as a real 11.1 reports"
        );
        assert_eq!(supported_op_version("3.5.1"), None);
        assert_eq!(supported_op_version("three"), None);
    }

    #[test]
    fn the_store_format_changes_a_run_crosses() {
        let names = |from, to| {
            store_format_changes(from, to)
                .into_iter()
                .map(|(r, _)| r)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("10.3", "11.1"), ["11.0"]);
        assert_eq!(names("9.2", "11.1"), ["10.0", "11.0"]);
        assert_eq!(names("11.0", "11.1"), Vec::<String>::new());
        assert_eq!(names("9.6", "10.4"), ["10.0"]);
    }

    #[test]
    fn max_op_version_is_reported_from_3_10() {
        assert!(!reports_max_op_version("3.9.1"));
        assert!(reports_max_op_version("3.10.0"));
        assert!(reports_max_op_version("11.1"));
    }
}
