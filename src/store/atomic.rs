//! Atomic file writes: a temporary file in the same folder, synced, then renamed
//! over the destination, so a path holds either its old content or the whole new one.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory and
/// a rename, so the path holds either the old file or the whole new one.
/// `secret` makes the file mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    write_atomic_with(path, secret, &mut |f| f.write_all(bytes))
}

/// [`write_atomic`] with the content produced by `fill` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    secret: bool,
    fill: &mut dyn FnMut(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        Error::invalid("output path", format!("{} names no file", path.display()))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let io = |what: &str, e| Error::io(format!("{what} {}", tmp.display()), e);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = secret;
    let mut write = || -> Result<()> {
        let f = opts.open(&tmp).map_err(|e| io("creating", e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w).map_err(|e| io("writing", e))?;
        let f = w.into_inner().map_err(|e| io("writing", e.into_error()))?;
        f.sync_all().map_err(|e| io("syncing", e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("renaming to {}", path.display()), e))
    };
    let res = write();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
