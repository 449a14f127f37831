//! A module's record on its host: JSON kept from one run to the next (what a stop stopped, so
//! that a start restores exactly that). Written whole or not at all.

use std::path::Path;

use keel_runtime::ModuleError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The record at `path`, or None when there is none. `advice` says what to do with one that
/// cannot be parsed (it may be from another Keel release, or edited by hand).
pub fn read<T: DeserializeOwned>(path: &Path, advice: &str) -> Result<Option<T>, ModuleError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ModuleError::failed(format!("the record {} is unreadable ({e}); {advice}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ModuleError::failed(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes `value` to `path` (and its folder), through a temporary file renamed over it: a crash
/// never leaves half a record.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), ModuleError> {
    let fail = |e: std::io::Error| ModuleError::failed(format!("cannot write the record {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// `write`, and on the disk before it returns (the file, then its folder's entry): for a record
/// that must outlive a power cut or a reboot, not only a killed module.
pub fn write_synced<T: Serialize>(path: &Path, value: &T) -> Result<(), ModuleError> {
    let text = serde_json::to_string(value).unwrap_or_default();
    synced(path, text.as_bytes())
        .map_err(|e| ModuleError::failed(format!("cannot write the record {}: {e}", path.display())))
}

fn synced(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Flushes a folder's entries (a rename or removal in it) to the disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Removes the record; none there is fine.
pub fn remove(path: &Path) -> Result<(), ModuleError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ModuleError::failed(format!("cannot remove {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_read_back_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/record.json");
        assert_eq!(read::<Vec<String>>(&path, "").unwrap(), None);
        write(&path, &vec!["glusterd".to_string()]).unwrap();
        assert_eq!(
            read::<Vec<String>>(&path, "").unwrap(),
            Some(vec!["glusterd".to_string()])
        );
        remove(&path).unwrap();
        assert!(!path.exists() && !path.with_extension("tmp").exists());
        remove(&path).unwrap();
    }

    #[test]
    fn a_synced_record_is_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/record.json");
        write_synced(&path, &vec!["vols.keel-1".to_string()]).unwrap();
        assert_eq!(
            read::<Vec<String>>(&path, "").unwrap(),
            Some(vec!["vols.keel-1".to_string()])
        );
        assert!(!path.with_extension("tmp").exists());
        let err = write_synced(&dir.path().join("sub/record.json/x"), &1)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot write the record "), "{err}");
    }

    #[test]
    fn each_failure_names_the_record_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = read::<Vec<String>>(&path, "check or remove it")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("the record {} is unreadable (", path.display())),
            "{err}"
        );
        assert!(err.ends_with("; check or remove it"), "{err}");
        // unlink(2) and read(2) refuse a directory, even to root.
        let err = read::<Vec<String>>(dir.path(), "").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot read {}: ", dir.path().display())),
            "{err}"
        );
        let err = remove(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot remove {}: ", dir.path().display())),
            "{err}"
        );
        let err = write(&dir.path().join("record.json/x"), &1).unwrap_err().to_string();
        assert!(err.starts_with("cannot write the record "), "{err}");
    }
}
