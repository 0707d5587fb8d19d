//! Crash-safe file writes: readers see either the old file or the complete new one, never a torn write.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes temporaries of concurrent writers in one process; the pid separates processes.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The directory `path` lives in ("." for a bare file name) and its file name.
fn split(path: &Path) -> Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(path, io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_string_lossy().into_owned()))
}

/// A fresh hidden temporary path `.{file_name}.tmp-{pid}-{n}` in `dir`.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes `bytes` to `path` via a temporary file in the same directory, fsync and rename; errors name `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, name) = split(path)?;
    if path.is_dir() {
        return Err(is_a_directory(path));
    }
    let tmp = temp_path(&dir, &name);
    let written = (|| -> io::Result<()> {
        // create_new so that a stale or foreign file of the same name is never clobbered or followed.
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        // Data must be on disk before the rename, or a crash could leave a complete-looking empty file.
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // Best effort: the temporary may not exist if creating it was what failed.
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir);
    Ok(())
}

/// Makes the rename itself durable; only possible (and needed) on Unix, and failure loses nothing written.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn is_a_directory(path: &Path) -> Error {
    Error::io(path, io::Error::new(io::ErrorKind::IsADirectory, "the path is a directory, not a file"))
}

/// Checks, leaving nothing behind, that [`write_atomic`] could create `path` (rejects a bad --save early).
pub fn check_writable(path: &Path) -> Result<()> {
    let (dir, name) = split(path)?;
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            let reason = format!("{} is not a directory", dir.display());
            return Err(Error::io(path, io::Error::new(io::ErrorKind::NotADirectory, reason)));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let reason = format!("the directory {} does not exist", dir.display());
            return Err(Error::io(path, io::Error::new(io::ErrorKind::NotFound, reason)));
        }
        Err(e) => return Err(Error::io(path, e)),
    }
    if path.is_dir() {
        return Err(is_a_directory(path));
    }
    let probe = temp_path(&dir, &name);
    OpenOptions::new().write(true).create_new(true).open(&probe).map_err(|e| Error::io(path, e))?;
    fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wgtrain-atomic-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = scratch("write");
        let path = dir.join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(entries(&dir), ["out.bin"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failures_name_the_target_and_leave_nothing() {
        let dir = scratch("fail");
        let missing = dir.join("no-such-dir").join("x.bin");
        let err = write_atomic(&missing, b"x").unwrap_err();
        assert!(matches!(&err, Error::Io { path, .. } if path == &missing), "{err}");
        let err = write_atomic(&dir, b"x").unwrap_err();
        assert!(matches!(&err, Error::Io { path, .. } if path == &dir), "{err}");
        assert!(write_atomic(Path::new("/"), b"x").is_err());
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn check_writable_accepts_good_and_rejects_bad_paths() {
        let dir = scratch("check");
        check_writable(&dir.join("model.safetensors")).unwrap();
        let file = dir.join("plain");
        fs::write(&file, b"x").unwrap();
        check_writable(&file).unwrap();
        assert!(check_writable(&dir).unwrap_err().to_string().contains("is a directory"));
        let err = check_writable(&dir.join("missing").join("m.st")).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        let err = check_writable(&file.join("m.st")).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
        assert_eq!(entries(&dir), ["plain"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
