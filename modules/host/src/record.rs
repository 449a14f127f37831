//! A module's record on its host: JSON kept from one run to the next (what a stop stopped, so
//! that a start restores exactly that). Written whole or not at all, readable by root alone: a
//! record names programs that a later run starts as root.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use keel_runtime::ModuleError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The record at `path`, or None when there is none. `advice` says what to do with one that
/// cannot be parsed (it may be from another Keel release, or edited by hand). A link at `path`
/// is refused, not followed.
pub fn read<T: DeserializeOwned>(path: &Path, advice: &str) -> Result<Option<T>, ModuleError> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path);
    let mut text = String::new();
    match opened.and_then(|mut f| f.read_to_string(&mut text)) {
        Ok(_) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ModuleError::failed(format!("the record {} is unreadable ({e}); {advice}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => Err(ModuleError::failed(format!(
            "the record {} is a symbolic link, which Keel never writes: it is not followed; check and remove it",
            path.display()
        ))),
        Err(e) => Err(ModuleError::failed(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes `value` to `path`: a new temporary file of mode 0600 with a unique name (created
/// exclusively, so nothing planted there is followed), flushed to the disk, renamed over `path`
/// (which replaces a link there rather than writing through it), then the folder's entry
/// flushed. Missing folders are made with mode 0700; an existing one must be owned by root (or
/// this user) and not writable by others unless sticky. A crash or a power cut never leaves half
/// a record.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), ModuleError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    synced(path, text.as_bytes())
        .map_err(|e| ModuleError::failed(format!("cannot write the record {}: {e}", path.display())))
}

/// `write`: kept for the records whose callers say that they must outlive a reboot.
pub fn write_synced<T: Serialize>(path: &Path, value: &T) -> Result<(), ModuleError> {
    write(path, value)
}

/// `text` as the file `path`, the way `write` writes a record (0600, exclusive temporary file,
/// synced, renamed): for other files only root may read, such as a repository login.
pub fn write_file(path: &Path, text: &[u8]) -> std::io::Result<()> {
    synced(path, text)
}

fn synced(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    safe_dir(dir)?;
    // O_CREAT|O_EXCL: a name already taken, a planted link included, fails rather than being
    // written through. Unique per process and moment; std's, to keep the binaries small.
    let nanos = keel_runtime::clock::unique_stamp();
    let tmp = dir.join(format!(".keel-record-{}-{nanos}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// Refuses a folder where someone else could swap the record.
fn safe_dir(dir: &Path) -> std::io::Result<()> {
    let m = std::fs::metadata(dir)?;
    let me = nix::unistd::geteuid().as_raw();
    let mode = m.permissions().mode();
    let why = if m.uid() != 0 && m.uid() != me {
        format!("its folder is owned by uid {}", m.uid())
    } else if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        format!(
            "its folder has mode {:04o}: others could replace the record",
            mode & 0o7777
        )
    } else {
        return Ok(());
    };
    Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why))
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

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_record_is_0600_in_a_0700_folder_and_no_link_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel/record.json");
        write(&path, &vec!["glusterd".to_string()]).unwrap();
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
        // Links planted where a record or a predictable temporary file would go: the record
        // replaces its link, and neither target is written.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        for name in ["record.tmp", ".keel-record-", "record.json"] {
            let at = path.with_file_name(name);
            let _ = std::fs::remove_file(&at);
            std::os::unix::fs::symlink(&victim, &at).unwrap();
        }
        let err = read::<Vec<String>>(&path, "").unwrap_err().to_string();
        assert!(
            err.contains("is a symbolic link") && err.contains("not followed"),
            "{err}"
        );
        write_synced(&path, &vec!["glusterd".to_string()]).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_file());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            read::<Vec<String>>(&path, "").unwrap(),
            Some(vec!["glusterd".to_string()])
        );
        // A folder others may write to is refused.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = write(&open.join("r.json"), &1).unwrap_err().to_string();
        assert!(err.contains("mode 0777: others could replace the record"), "{err}");
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
