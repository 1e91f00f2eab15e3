//! A results folder on disk: created if missing, every file written through a
//! temporary name and a rename ([`crate::store::atomic`]), so an interrupted
//! run leaves no half file. What goes into the files is decided elsewhere.

use std::path::Path;

use crate::error::{Error, Result};

/// An existing results folder.
pub(crate) struct Folder<'a>(&'a Path);

impl<'a> Folder<'a> {
    /// Creates `dir` (and its parents) if it does not exist.
    pub(crate) fn create(dir: &'a Path) -> Result<Folder<'a>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(Folder(dir))
    }

    /// The folder's path.
    pub(crate) fn path(&self) -> &'a Path {
        self.0
    }

    /// Writes `body` to the file `name` in the folder, atomically.
    pub(crate) fn put(&self, name: &str, body: &str) -> Result<()> {
        crate::store::atomic::write_atomic(&self.0.join(name), body.as_bytes(), false)
    }

    /// Writes `env` to `env.json`, pretty-printed.
    pub(crate) fn put_env(&self, env: &serde_json::Value) -> Result<()> {
        self.put(
            "env.json",
            &serde_json::to_string_pretty(env).unwrap_or_default(),
        )
    }
}
