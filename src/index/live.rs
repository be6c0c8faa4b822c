//! The live index of a data directory, as one process sees it: the published generation,
//! followed as it changes. [`LiveIndex::refresh`] is the only place a process switches
//! generations, and it is idempotent: called by a watcher, by a write that holds the data
//! directory's write lock, or by both at once, it switches at most once per published
//! generation and reloads after commits made by any process.

use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::{IndexError, SearchIndex};
use crate::store::DataDir;

/// The live index of a data directory.
pub struct LiveIndex {
    data: DataDir,
    current: RwLock<Arc<SearchIndex>>,
    /// Held while following the data directory; what the index's `meta.json` looked like at
    /// the last reload.
    seen: Mutex<Option<Stamp>>,
}

/// When and how large a file was last written: enough to tell that a commit happened.
type Stamp = (SystemTime, u64);

impl LiveIndex {
    /// Opens the live generation of `data`, creating an empty one if there is none, and
    /// removes generations nobody holds (one a killed reindex left, say).
    pub fn open(data: &DataDir) -> Result<LiveIndex, IndexError> {
        let index = SearchIndex::open_or_create_live(data)?;
        data.remove_stale_generations()?;
        let stamp = index.meta_stamp();
        Ok(LiveIndex {
            data: data.clone(),
            current: RwLock::new(Arc::new(index)),
            seen: Mutex::new(stamp),
        })
    }

    /// The index searches use now; a search keeps the one it started with.
    pub fn get(&self) -> Arc<SearchIndex> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// Catches up with the data directory: switches to a generation published since, or
    /// reloads the current one if a commit changed it; then removes generations nobody holds
    /// any more. Returns the index searches use from now on.
    pub fn refresh(&self) -> Result<Arc<SearchIndex>, IndexError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.get();
        let published = self.data.live_generation()?;
        match published {
            Some(dir) if dir != current.dir() => {
                let fresh = Arc::new(SearchIndex::open_live(&self.data)?);
                *seen = fresh.meta_stamp();
                tracing::info!(from = %current.dir().display(), to = %fresh.dir().display(), "switched index generation");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&fresh);
            }
            _ => {
                let stamp = current.meta_stamp();
                if stamp != *seen {
                    current.reload()?;
                    *seen = stamp;
                }
            }
        }
        drop(seen);
        // The generation switched away from goes once its last search is done (here or in
        // another process): a later refresh removes it.
        if let Err(e) = self.data.remove_stale_generations() {
            tracing::warn!(error = %e, "could not remove an old index generation");
        }
        Ok(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshing_while_generations_are_published_switches_once_and_never_loses_the_live_one() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let live = Arc::new(LiveIndex::open(&data).unwrap());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watchers: Vec<_> = (0..3)
            .map(|_| {
                let (live, stop) = (Arc::clone(&live), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut refreshes = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let index = live.refresh().expect("refresh never fails");
                        assert!(index.dir().exists(), "the index in use is never removed");
                        index.searcher().num_docs();
                        refreshes += 1;
                    }
                    refreshes
                })
            })
            .collect();
        for _ in 0..40 {
            // What a reindex does: build a generation, publish it, let go of it.
            let (gen_dir, held) = data.new_generation().unwrap();
            let built = SearchIndex::create(&gen_dir, held).unwrap();
            data.publish(&gen_dir).unwrap();
            drop(built);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let refreshes: usize = watchers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(refreshes > 0);
        let index = live.refresh().unwrap();
        assert_eq!(
            Some(index.dir().to_path_buf()),
            data.live_generation().unwrap()
        );
        drop(index);
        live.refresh().unwrap();
        let generations = std::fs::read_dir(dir.path().join("index"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .count();
        assert_eq!(generations, 1, "only the live generation is left");
    }
}
