//! A sweep's checkpoint directory: everything a preempted sweep needs to go on where it stood, replaced atomically
//! as a whole at each commit (each epoch's end), so a process killed at any instant leaves either the previous
//! state or the new one, never a mixture.
//!
//! The directory holds `manifest.json` and data files (a group's state, the finished configurations' weights)
//! named by the caller's key and the commit that wrote them: `KEY.SERIAL.bin`. A commit writes the new data files (each via a temporary
//! file, fsync and rename), then the manifest the same way, and only then deletes the files the old manifest named
//! that the new one does not; the manifest's rename is the instant the new state takes over. The manifest carries
//! a magic string and a format version, the options the sweep was started with (a resume with other options is
//! refused, naming the first that differs), the caller's own state as JSON (results so far, the halving rung), and
//! for each data file its size and CRC-32, so a damaged or foreign file is found and named before anything trains.
//!
//! An empty or missing directory is a fresh start, with or without `resume`: a job scheduler can run one command,
//! with `--resume`, from the first attempt on. Files that are not the checkpoint's own are an error.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::internal::atomic_file::write_atomic;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// Marks a manifest as a wgtrain sweep checkpoint's.
const MAGIC: &str = "wgtrain sweep checkpoint";
/// The manifest format this code writes and reads.
const VERSION: u32 = 1;
/// Data files end so.
const DATA_SUFFIX: &str = ".bin";

/// One data file as the manifest names it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FileEntry {
    file: String,
    bytes: u64,
    crc32: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    magic: String,
    version: u32,
    /// Counts commits; names the data files a commit writes, so a file the current manifest names is never
    /// overwritten.
    serial: u64,
    options: Vec<(String, String)>,
    state: Value,
    files: BTreeMap<String, FileEntry>,
}

/// An open checkpoint directory: the state it held (if any) and the writer of the next commits.
#[derive(Debug)]
pub struct SweepCheckpoint {
    dir: PathBuf,
    manifest: Manifest,
    /// The data of every key of the current state (read back when resuming, or put since).
    data: BTreeMap<String, Vec<u8>>,
    /// Keys put since the last commit.
    changed: Vec<String>,
    resumed: bool,
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Whether `name` is a data file this module writes (`KEY.SERIAL.bin`) or one of `write_atomic`'s temporaries of
/// such a file or of the manifest (left by a kill mid-write).
fn ours(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix('.') {
        return rest.split_once(".tmp-").is_some_and(|(target, _)| target == MANIFEST || data_name(target));
    }
    name == MANIFEST || data_name(name)
}

fn data_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(DATA_SUFFIX) else { return false };
    let Some((key, serial)) = stem.rsplit_once('.') else { return false };
    valid_key(key) && !serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit())
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The first option whose value differs between `was` and `now` (or that only one of them has), with both values.
fn first_difference<'a>(
    was: &'a [(String, String)],
    now: &'a [(String, String)],
) -> Option<(&'a str, Option<&'a str>, Option<&'a str>)> {
    let find = |list: &'a [(String, String)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    now.iter().chain(was).find_map(|(name, _)| {
        let (a, b) = (find(was, name), find(now, name));
        (a != b).then_some((name.as_str(), a, b))
    })
}

impl SweepCheckpoint {
    /// Opens `dir` for a sweep started with `options` (option name and value, in a fixed order). A missing or
    /// empty directory (or one holding only pieces of a first commit that never finished) starts fresh. One
    /// holding a checkpoint is resumed when `resume` is set, after checking its manifest, its options against
    /// `options` and every data file's size and checksum; without `resume` it is refused rather than overwritten.
    /// Files that are not the checkpoint's are refused, by name. Nothing is written (not even the directory)
    /// until [`SweepCheckpoint::commit`].
    pub fn open(dir: &Path, options: &[(String, String)], resume: bool) -> Result<SweepCheckpoint> {
        let mut names = Vec::new();
        match fs::read_dir(dir) {
            Ok(entries) => {
                for e in entries {
                    let e = e.map_err(|e| Error::io(dir, e))?;
                    names.push(e.file_name().to_string_lossy().into_owned());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir, e)),
        }
        names.sort();
        if let Some(foreign) = names.iter().find(|n| !ours(n)) {
            let why = "is not part of a sweep checkpoint (give --checkpoint-dir a directory of its own)";
            return Err(Error::parse(dir.join(foreign), None, why));
        }
        let fresh = Manifest {
            magic: MAGIC.into(),
            version: VERSION,
            serial: 0,
            options: options.to_vec(),
            state: Value::Null,
            files: BTreeMap::new(),
        };
        let mut checkpoint = SweepCheckpoint {
            dir: dir.to_path_buf(),
            manifest: fresh,
            data: BTreeMap::new(),
            changed: Vec::new(),
            resumed: false,
        };
        if names.iter().any(|n| n == MANIFEST) {
            if !resume {
                let why = "holds a sweep checkpoint: add --resume to continue it, or give an empty directory";
                return Err(Error::config("--checkpoint-dir", format!("{}: {why}", dir.display())));
            }
            checkpoint.read(options)?;
        }
        Ok(checkpoint)
    }

    /// Reads and checks the manifest and every data file it names.
    fn read(&mut self, options: &[(String, String)]) -> Result<()> {
        let path = self.dir.join(MANIFEST);
        let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::parse(&path, Some(format!("{}:{}", e.line(), e.column())), e.to_string()))?;
        if value.get("magic").and_then(Value::as_str) != Some(MAGIC) {
            return Err(Error::parse(&path, None, "not a wgtrain sweep checkpoint's manifest"));
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            v => {
                let why =
                    format!("format version {}, this build reads {VERSION}", v.map_or("?".into(), |v| v.to_string()));
                return Err(Error::parse(&path, None, why));
            }
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| Error::parse(&path, None, e.to_string()))?;
        if let Some((name, was, now)) = first_difference(&manifest.options, options) {
            let show = |v: Option<&str>| match v {
                None => "absent".to_string(),
                Some("") => "given".to_string(),
                Some(v) => format!("{v:?}"),
            };
            let why = format!(
                "--{name} differs from the checkpoint's (there {}, now {}); resume with the options the sweep started with",
                show(was),
                show(now)
            );
            return Err(Error::config("--resume", why));
        }
        for (key, entry) in &manifest.files {
            let file = self.dir.join(&entry.file);
            if !valid_key(key) || entry.file.contains(['/', '\\']) {
                return Err(Error::parse(&path, Some(format!("files.{key}")), "not a data file of this checkpoint"));
            }
            let bytes = fs::read(&file).map_err(|e| Error::io(&file, e))?;
            if bytes.len() as u64 != entry.bytes || crc32(&bytes) != entry.crc32 {
                let why = format!(
                    "damaged: {} bytes with CRC-32 {:08x}, the manifest says {} bytes with {:08x}",
                    bytes.len(),
                    crc32(&bytes),
                    entry.bytes,
                    entry.crc32
                );
                return Err(Error::parse(&file, None, why));
            }
            self.data.insert(key.clone(), bytes);
        }
        self.manifest = manifest;
        self.resumed = true;
        Ok(())
    }

    /// Whether a saved state was read (a resume), rather than a fresh start.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The caller's state of the last commit (`Null` on a fresh start).
    pub fn state(&self) -> &Value {
        &self.manifest.state
    }

    /// The data stored under `key`, if any (checked against the manifest's size and checksum when read).
    pub fn data(&self, key: &str) -> Option<&[u8]> {
        self.data.get(key).map(Vec::as_slice)
    }

    /// The path a key's data was read from (to name it in errors), or where it will be written.
    pub fn data_path(&self, key: &str) -> PathBuf {
        match self.manifest.files.get(key) {
            Some(e) => self.dir.join(&e.file),
            None => self.dir.join(format!("{key}.{}{DATA_SUFFIX}", self.manifest.serial + 1)),
        }
    }

    /// Stages `bytes` under `key` (lowercase letters, digits and `-`) for the next commit; bytes equal to the
    /// key's current ones change nothing (the file is not rewritten).
    pub fn put(&mut self, key: &str, bytes: Vec<u8>) -> Result<()> {
        if !valid_key(key) {
            return Err(Error::config("checkpoint key", format!("{key:?}: lowercase letters, digits and - only")));
        }
        if self.data.get(key) == Some(&bytes) {
            return Ok(());
        }
        self.data.insert(key.to_string(), bytes);
        if !self.changed.iter().any(|k| k == key) {
            self.changed.push(key.to_string());
        }
        Ok(())
    }

    /// Drops `key` from the next commit's state.
    pub fn remove(&mut self, key: &str) {
        self.data.remove(key);
        self.changed.retain(|k| k != key);
    }

    /// Drops every key but `keep` from the next commit's state.
    pub fn retain(&mut self, keep: &[String]) {
        self.data.retain(|k, _| keep.contains(k));
        self.changed.retain(|k| keep.contains(k));
    }

    /// Makes the staged data and `state` the checkpoint's, atomically (see the module documentation).
    pub fn commit(&mut self, state: Value) -> Result<()> {
        let serial = self.manifest.serial + 1;
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut files = BTreeMap::new();
        for (key, bytes) in &self.data {
            let entry = match self.manifest.files.get(key) {
                Some(old) if !self.changed.contains(key) => old.clone(),
                _ => {
                    let file = format!("{key}.{serial}{DATA_SUFFIX}");
                    write_atomic(&self.dir.join(&file), bytes)?;
                    FileEntry { file, bytes: bytes.len() as u64, crc32: crc32(bytes) }
                }
            };
            files.insert(key.clone(), entry);
        }
        let manifest = Manifest { serial, state, files, ..self.manifest.clone() };
        let mut json =
            serde_json::to_string_pretty(&manifest).map_err(|e| Error::config("checkpoint", e.to_string()))?;
        json.push('\n');
        write_atomic(&self.dir.join(MANIFEST), json.as_bytes())?;
        self.manifest = manifest;
        self.changed.clear();
        self.sweep_stale();
        Ok(())
    }

    /// Deletes data files the manifest does not name and temporaries of killed writes. Best effort: a file left
    /// behind is deleted at a later commit, and is never read.
    fn sweep_stale(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let named = name == MANIFEST || self.manifest.files.values().any(|f| f.file == name);
            if ours(&name) && !named {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
