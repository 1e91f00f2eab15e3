//! Writing files so that nothing is lost or half-written.
//!
//! - Only regular files are written: a path that names a device, a folder,
//!   a symlink or anything else is refused, never replaced.
//! - Outputs are checked before any work ([`check_outputs`]): the folder
//!   exists and takes a new file, no two outputs of one command name the same
//!   file.
//! - Content goes to a temporary file beside the destination
//!   (`NAME.partial.PID`, visible, so a killed run's leftover is seen),
//!   synced, then renamed over the destination: the path holds either its old
//!   content or the whole new one. Leftovers of runs that no longer exist are
//!   removed on the next write to the same path.
//! - [`write_all_or_none`] writes several outputs of one command: every
//!   temporary file is complete before the first rename.
//! - A results folder ([`StagedDir`]) is filled under a temporary name and
//!   renamed into place when complete; an existing folder is replaced only
//!   when the caller says so (`--force`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Fills a temporary file.
pub type Fill<'a> = dyn FnMut(&mut BufWriter<File>) -> std::io::Result<()> + 'a;

/// Writes `bytes` to `path` atomically; `secret` makes the file mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    write_atomic_with(path, secret, &mut |f| f.write_all(bytes))
}

/// [`write_atomic`] with the content produced by `fill` into the temporary file.
pub fn write_atomic_with(path: &Path, secret: bool, fill: &mut Fill<'_>) -> Result<()> {
    check_output(path)?;
    let tmp = write_temp(path, secret, fill)?;
    persist(&tmp, path)
}

/// One output of a command, for [`write_all_or_none`].
pub struct Output<'a> {
    /// Where it goes.
    pub path: &'a Path,
    /// Mode 0600.
    pub secret: bool,
    /// Its content.
    pub fill: Box<Fill<'a>>,
}

/// Writes every output to its temporary file, then renames them all: if any
/// content fails, no destination changes.
pub fn write_all_or_none(outputs: &mut [Output<'_>]) -> Result<()> {
    let paths: Vec<&Path> = outputs.iter().map(|o| o.path).collect();
    check_outputs(&paths)?;
    let mut temps: Vec<PathBuf> = Vec::with_capacity(outputs.len());
    for o in outputs.iter_mut() {
        match write_temp(o.path, o.secret, &mut *o.fill) {
            Ok(t) => temps.push(t),
            Err(e) => {
                for t in &temps {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    for (i, (t, o)) in temps.iter().zip(outputs.iter()).enumerate() {
        if let Err(e) = persist(t, o.path) {
            for t in &temps[i + 1..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Checks that `path` can be written: its folder exists and takes a new
/// file, and the path is absent or a regular file (not a symlink, device or
/// folder).
pub fn check_output(path: &Path) -> Result<()> {
    let bad = |why: String| Error::invalid("output path", format!("{}: {why}", path.display()));
    if path.file_name().is_none() {
        return Err(bad("names no file".into()));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(bad(
                "is a symbolic link; keyhier writes only regular files (give the target's path)"
                    .into(),
            ));
        }
        Ok(m) if m.is_dir() => return Err(bad("is a folder, not a file".into())),
        Ok(m) if !m.is_file() => {
            return Err(bad(
                "is not a regular file (a device or a pipe?); keyhier writes only regular files"
                    .into(),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("checking {}", path.display()), e)),
    }
    let dir = parent(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad(format!("{} is not a folder", dir.display()))),
        Err(e) => {
            return Err(Error::io(
                format!("folder {} of the output", dir.display()),
                e,
            ));
        }
    }
    // The folder must take a new file: try one.
    let probe = temp_path(path, "probe");
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// [`check_output`] for each, and no two naming the same file.
pub fn check_outputs(paths: &[&Path]) -> Result<()> {
    let mut seen: Vec<(PathBuf, &Path)> = Vec::with_capacity(paths.len());
    for &p in paths {
        check_output(p)?;
        let id = identity(p)?;
        if let Some((_, q)) = seen.iter().find(|(i, _)| *i == id) {
            return Err(Error::invalid(
                "output path",
                format!(
                    "{} and {} name the same file: each output needs its own",
                    q.display(),
                    p.display()
                ),
            ));
        }
        seen.push((id, p));
    }
    Ok(())
}

/// The canonical folder joined with the file name (the file may not exist yet).
fn identity(p: &Path) -> Result<PathBuf> {
    let dir = std::fs::canonicalize(parent(p))
        .map_err(|e| Error::io(format!("resolving {}", parent(p).display()), e))?;
    Ok(dir.join(p.file_name().unwrap_or_default()))
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `DIR/NAME.partial.PID` (or `.probe.PID`), beside `path`.
fn temp_path(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    parent(path).join(format!("{name}.{what}.{}", std::process::id()))
}

/// Removes `NAME.partial.PID` leftovers of processes that no longer run.
fn remove_stale(path: &Path) {
    let (Some(name), Ok(entries)) = (path.file_name(), std::fs::read_dir(parent(path))) else {
        return;
    };
    let prefix = format!("{}.partial.", name.to_string_lossy());
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(prefix.as_str())) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn write_temp(path: &Path, secret: bool, fill: &mut Fill<'_>) -> Result<PathBuf> {
    remove_stale(path);
    let tmp = temp_path(path, "partial");
    let io = |what: &str, e| Error::io(format!("{what} {}", tmp.display()), e);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = secret;
    let res = (|| {
        let f = opts.open(&tmp).map_err(|e| io("creating", e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        fill(&mut w).map_err(|e| io("writing", e))?;
        let f = w.into_inner().map_err(|e| io("writing", e.into_error()))?;
        f.sync_all().map_err(|e| io("syncing", e))
    })();
    match res {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn persist(tmp: &Path, path: &Path) -> Result<()> {
    // Checked again at the last moment: the destination may have changed
    // while the content was written.
    if let Err(e) = check_output_kind(path) {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(format!("renaming to {}", path.display()), e)
    })
}

/// The destination is absent or a regular file.
fn check_output_kind(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(Error::invalid(
            "output path",
            format!(
                "{}: is no longer a regular file; not replaced",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// A folder of results filled under a temporary name (`NAME.partial.PID`)
/// and renamed into place by [`StagedDir::commit`]; dropped uncommitted, it
/// is removed.
pub struct StagedDir {
    staging: PathBuf,
    dest: PathBuf,
    force: bool,
    done: bool,
}

impl StagedDir {
    /// Checks `dest` (absent, or an existing folder with `force`) and creates
    /// the staging folder beside it.
    pub fn create(dest: &Path, force: bool) -> Result<StagedDir> {
        let bad =
            |why: String| Error::invalid("output folder", format!("{}: {why}", dest.display()));
        if dest.file_name().is_none() {
            return Err(bad("names no folder".into()));
        }
        match std::fs::symlink_metadata(dest) {
            Ok(m) if m.is_dir() && !force => {
                return Err(bad(
                    "exists; give another --out, or --force to replace it".into()
                ));
            }
            Ok(m) if !m.is_dir() => return Err(bad("exists and is not a folder".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("checking {}", dest.display()), e)),
        }
        let up = parent(dest);
        std::fs::create_dir_all(up)
            .map_err(|e| Error::io(format!("creating {}", up.display()), e))?;
        remove_stale_dirs(dest);
        let staging = temp_path(dest, "partial");
        std::fs::create_dir(&staging)
            .map_err(|e| Error::io(format!("creating {}", staging.display()), e))?;
        Ok(StagedDir {
            staging,
            dest: dest.to_path_buf(),
            force,
            done: false,
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where the folder goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the complete folder into place (replacing the old one with `force`).
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.force && self.dest.is_dir() {
            let old = temp_path(&self.dest, "old");
            std::fs::rename(&self.dest, &old)
                .map_err(|e| Error::io(format!("moving aside {}", self.dest.display()), e))?;
            if let Err(e) = std::fs::rename(&self.staging, &self.dest) {
                let _ = std::fs::rename(&old, &self.dest);
                return Err(Error::io(format!("renaming to {}", self.dest.display()), e));
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.staging, &self.dest)
                .map_err(|e| Error::io(format!("renaming to {}", self.dest.display()), e))?;
        }
        self.done = true;
        Ok(self.dest.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Removes `NAME.partial.PID` and `NAME.old.PID` folders of processes that no longer run.
fn remove_stale_dirs(dest: &Path) {
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent(dest)) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(name.as_str())) else {
            continue;
        };
        let pid = rest
            .strip_prefix(".partial.")
            .or_else(|| rest.strip_prefix(".old."))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("keyhier-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn devices_folders_and_symlinks_are_refused_not_replaced() {
        let d = scratch("kinds");
        let target = d.join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for p in [Path::new("/dev/null"), d.as_path(), link.as_path()] {
            let e = write_atomic(p, b"x", false).unwrap_err().to_string();
            assert!(e.contains("output path"), "{p:?}: {e}");
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        use std::os::unix::fs::FileTypeExt;
        let dev = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(dev.file_type().is_char_device(), "/dev/null still a device");
    }

    #[test]
    fn two_outputs_naming_one_file_are_refused_before_anything_is_written() {
        let d = scratch("same");
        let a = d.join("same.bin");
        let b = d.join(".").join("same.bin");
        let e = check_outputs(&[&a, &b]).unwrap_err().to_string();
        assert!(e.contains("name the same file"), "{e}");
        assert!(!a.exists());
    }

    #[test]
    fn all_or_none_leaves_every_destination_as_it_was_when_one_content_fails() {
        let d = scratch("all");
        let a = d.join("a");
        let b = d.join("b");
        std::fs::write(&a, b"old-a").unwrap();
        let mut outs = [
            Output {
                path: &a,
                secret: false,
                fill: Box::new(|w: &mut BufWriter<File>| w.write_all(b"new-a")),
            },
            Output {
                path: &b,
                secret: true,
                fill: Box::new(|_: &mut BufWriter<File>| Err(std::io::Error::other("boom"))),
            },
        ];
        assert!(write_all_or_none(&mut outs).is_err());
        assert_eq!(std::fs::read(&a).unwrap(), b"old-a");
        assert!(!b.exists());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
    }

    #[test]
    fn a_dead_run_s_partial_file_is_removed_by_the_next_write() {
        let d = scratch("stale");
        let p = d.join("big.khh");
        // No process has pid u32::MAX - 1.
        let stale = d.join(format!("big.khh.partial.{}", u32::MAX - 1));
        std::fs::write(&stale, b"half").unwrap();
        write_atomic(&p, b"whole", false).unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
    }

    #[test]
    fn a_staged_folder_appears_only_when_committed_and_never_overwrites_without_force() {
        let d = scratch("staged");
        let dest = d.join("run");
        let s = StagedDir::create(&dest, false).unwrap();
        std::fs::write(s.path().join("a.csv"), b"1").unwrap();
        assert!(!dest.exists());
        s.commit().unwrap();
        assert!(dest.join("a.csv").exists());
        let e = StagedDir::create(&dest, false).err().unwrap().to_string();
        assert!(e.contains("--force"), "{e}");
        // Dropped uncommitted: nothing changes, no staging folder left.
        let s = StagedDir::create(&dest, true).unwrap();
        std::fs::write(s.path().join("b.csv"), b"2").unwrap();
        drop(s);
        assert!(dest.join("a.csv").exists() && !dest.join("b.csv").exists());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // With force, replaced whole.
        let s = StagedDir::create(&dest, true).unwrap();
        std::fs::write(s.path().join("b.csv"), b"2").unwrap();
        s.commit().unwrap();
        assert!(!dest.join("a.csv").exists() && dest.join("b.csv").exists());
    }
}
