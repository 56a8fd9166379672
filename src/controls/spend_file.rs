//! Spend kept across restarts: the cost buckets saved to `{data_dir}/spend.json` by a
//! thread once a second when something was charged, and once more at shutdown.

use super::counters::{LocalCounters, SavedBucket};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The file's name inside `data_dir`.
pub const SPEND_FILE_NAME: &str = "spend.json";

/// How often a changed store is written: a crash loses at most this much spend.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Why the saved spend could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum SpendFileError {
    /// The file (or `data_dir`) could not be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not what sluice writes; budgets are never reset silently.
    #[error("{path} is not a spend file sluice wrote ({source}); move it away to start the budgets afresh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        source: serde_json::Error,
    },
}

/// The running saver; `stop` writes once more and joins it.
#[derive(Debug)]
pub struct SpendSaver {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Reads `{data_dir}/spend.json` into `counters` (creating `data_dir`; no file: nothing
/// spent yet) and starts the thread that keeps it current.
pub fn restore_and_save(
    data_dir: &Path,
    counters: Arc<LocalCounters>,
) -> Result<SpendSaver, SpendFileError> {
    let path = data_dir.join(SPEND_FILE_NAME);
    let io = |source| SpendFileError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    match std::fs::read(&path) {
        Ok(text) => {
            let saved: Vec<SavedBucket> =
                serde_json::from_slice(&text).map_err(|source| SpendFileError::Corrupt {
                    path: path.clone(),
                    source,
                })?;
            counters.import(saved);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let (stop, stopped) = mpsc::channel();
    let file = path.clone();
    let thread = std::thread::Builder::new()
        .name("sluice-spend".into())
        .spawn(move || loop {
            let last = !matches!(
                stopped.recv_timeout(SAVE_EVERY),
                Err(RecvTimeoutError::Timeout)
            );
            let (saved, changed) = counters.export(SystemTime::now());
            if changed || last {
                if let Err(e) = save(&file, &saved) {
                    log::error!("spend limits: cannot save {}: {e}", file.display());
                }
            }
            if last {
                return;
            }
        })
        .map_err(io)?;
    Ok(SpendSaver { stop, thread })
}

impl SpendSaver {
    /// Saves what was charged so far and ends the thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Written beside the file, synced, then renamed over it: a crash leaves the old file or
/// the new one, never half of one.
fn save(path: &Path, saved: &[SavedBucket]) -> std::io::Result<()> {
    let text = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    let partial = path.with_extension("json.partial");
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(&text)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::counters::{BucketKey, Counters, Owner, Window};

    #[test]
    fn spend_survives_a_stop_and_a_bad_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = BucketKey {
            gateway: "g".into(),
            owner: Owner::SpendRule("r".into()),
            partition: String::new(),
        };
        let window = Window {
            limit: 1.0,
            window_s: 86_400,
            // A charge stays a whole window whenever it is made: no boundary to race.
            sliding: true,
        };
        let counters = Arc::new(LocalCounters::new());
        let saver = restore_and_save(dir.path(), counters.clone()).unwrap();
        counters.charge(&key, &window, 3.0, SystemTime::now());
        saver.stop();
        let again = Arc::new(LocalCounters::new());
        restore_and_save(dir.path(), again.clone()).unwrap().stop();
        assert!(again.check_spend(&key, &window, SystemTime::now()).is_err());
        std::fs::write(dir.path().join(SPEND_FILE_NAME), b"{not json").unwrap();
        let err = restore_and_save(dir.path(), Arc::new(LocalCounters::new())).unwrap_err();
        assert!(err.to_string().contains("move it away"), "{err}");
    }
}
