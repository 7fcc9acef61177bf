//! Owner-only files and folders on local disk: the data directory (`MKPF_DATA_DIR`), the embedded
//! store file and key files hold personal data and secrets, so they are created readable by their
//! owner alone (folders 0700, files 0600) whatever the process umask, and an existing folder or
//! file with looser permissions is tightened when opened.

use std::path::Path;

/// Creates `dir` and any missing parents as owner-only folders (0700); tightens `dir` itself to
/// 0700 if it already existed with group or other access.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Makes sure `path` exists as an owner-only file (0600): creates it empty if missing (so that a
/// library opening it later inherits the mode), tightens it if it has group or other access.
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).map(|_| ())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// A scratch folder under the system temp dir, removed when dropped.
    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn scratch() -> Scratch {
        Scratch(std::env::temp_dir().join(format!("mkpf-private-fs-{}", uuid::Uuid::new_v4())))
    }

    #[test]
    fn new_folders_are_owner_only_at_every_level() {
        let s = scratch();
        let dir = s.0.join("a").join("b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&s.0), 0o700);
        assert_eq!(mode(&s.0.join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_existing_open_folder_and_file_are_tightened() {
        let s = scratch();
        std::fs::create_dir_all(&s.0).unwrap();
        std::fs::set_permissions(&s.0, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&s.0).unwrap();
        assert_eq!(mode(&s.0), 0o700);

        let f = s.0.join("f");
        std::fs::write(&f, b"data").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).unwrap(), b"data", "an existing file keeps its content");
    }
}
