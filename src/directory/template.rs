//! Forests as provisioning and LDIF imports left them, kept for the rest of the process.
//!
//! A scenario world provisions a forest (a few hundred entries) and usually imports the same
//! fixture LDIF into it. With the same configuration, seed and (virtual) clock the result is
//! the same state every time — every GUID, SID, USN and timestamp — so the catalogue spent a
//! sixth of its CPU building one state over and over. [`Directory::new`] and
//! [`Directory::import_ldif`] now start from a copy of the state the same recipe left before:
//! a copy shares the entries (a change copies only the entry it changes, see
//! [`super::store::Store`]), so what one world does is never seen by another or by the kept
//! state. A directory follows a recipe only while nothing else has written to it (its
//! generation says so); a failed import is never kept. Bounded: at most [`KEPT`] states, each
//! of at most [`LARGEST`] entries from at most [`LARGEST_LDIF`] bytes of LDIF.

use super::{Directory, DirectoryConfig, State};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// States kept at once (oldest dropped first): a catalogue uses a handful of recipes.
const KEPT: usize = 16;
/// Larger states are not kept (a generated or restored forest of 100,000 users).
const LARGEST: usize = 5_000;
/// Nor are the results of larger LDIF files.
const LARGEST_LDIF: usize = 1 << 20;

/// What made a directory's state: a provisioning, then LDIF imports, each at an instant.
#[derive(Clone, PartialEq)]
pub(super) struct Recipe {
    provision: Provision,
    imports: Vec<(DateTime<Utc>, Arc<str>)>,
}

/// What provisioning depends on (the limits and timeouts of the config do not matter).
#[derive(Clone, PartialEq)]
struct Provision {
    forest: String,
    admin_password: String,
    seed: u64,
    connector: bool,
    connector_password: Option<String>,
    connector_dn: Option<String>,
    exchange_schema: bool,
    at: DateTime<Utc>,
}

impl Recipe {
    pub(super) fn provision(config: &DirectoryConfig, at: DateTime<Utc>) -> Self {
        Self {
            provision: Provision {
                forest: config.forest.clone(),
                admin_password: config.admin_password.clone(),
                seed: config.seed,
                connector: config.connector,
                connector_password: config.connector_password.clone(),
                connector_dn: config.connector_dn.clone(),
                exchange_schema: config.exchange_schema,
                at,
            },
            imports: Vec::new(),
        }
    }

    /// This recipe, then `text` imported at `at`; `None` for an LDIF too large to keep.
    fn then_import(&self, at: DateTime<Utc>, text: &str) -> Option<Self> {
        (text.len() <= LARGEST_LDIF).then(|| {
            let mut next = self.clone();
            next.imports.push((at, Arc::from(text)));
            next
        })
    }
}

/// A kept state: the directory's generation and the import's record count with it.
struct Kept {
    recipe: Recipe,
    state: State,
    generation: u64,
    records: usize,
}

static KEPT_STATES: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

fn kept() -> std::sync::MutexGuard<'static, Vec<Kept>> {
    KEPT_STATES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A copy of the state `recipe` left, its generation and record count.
pub(super) fn find(recipe: &Recipe) -> Option<(State, u64, usize)> {
    kept()
        .iter()
        .find(|k| k.recipe == *recipe)
        .map(|k| (k.state.clone(), k.generation, k.records))
}

/// Keep (a copy of) the state `recipe` left.
fn keep(recipe: Recipe, state: &State, generation: u64, records: usize) {
    if state.store.len() > LARGEST {
        return;
    }
    let mut kept = kept();
    if kept.iter().any(|k| k.recipe == recipe) {
        return;
    }
    if kept.len() >= KEPT {
        kept.remove(0);
    }
    kept.push(Kept {
        recipe,
        state: state.clone(),
        generation,
        records,
    });
}

impl Directory {
    /// The recipe this directory's state is exactly at, if nothing else has written to it.
    fn recipe(&self) -> Option<Recipe> {
        let r = self.inner.recipe.lock().unwrap_or_else(|e| e.into_inner());
        r.as_ref()
            .filter(|(_, generation)| *generation == self.generation())
            .map(|(recipe, _)| recipe.clone())
    }

    /// The state is now what `recipe` made, at `generation`.
    pub(super) fn follow(&self, recipe: Recipe, generation: u64) {
        self.inner
            .generation
            .store(generation, std::sync::atomic::Ordering::Relaxed);
        *self.inner.recipe.lock().unwrap_or_else(|e| e.into_inner()) = Some((recipe, generation));
    }

    /// [`Directory::import_ldif`] from a kept state, if there is one.
    pub(super) fn import_kept(&self, text: &str) -> Import {
        let Some(next) = self.recipe().and_then(|r| r.then_import(self.now(), text)) else {
            return Import::Unkept;
        };
        match find(&next) {
            Some((state, generation, records)) => {
                *self.inner.state.write().unwrap_or_else(|e| e.into_inner()) = state;
                self.follow(next, generation);
                Import::Taken(records)
            }
            None => Import::KeepAs(Box::new(next)),
        }
    }

    /// After a provisioning or an import that succeeded (`records`): keep the state it left
    /// under `recipe`, and follow it.
    pub(super) fn keep_as(&self, recipe: Recipe, records: usize) {
        let generation = self.generation();
        keep(recipe.clone(), &self.read(), generation, records);
        self.follow(recipe, generation);
    }
}

/// What [`Directory::import_kept`] found.
pub(super) enum Import {
    /// The kept state was taken: the import's record count.
    Taken(usize),
    /// None kept yet: import, then keep the result under this recipe.
    KeepAs(Box<Recipe>),
    /// The directory follows no recipe, or the file is too large to keep.
    Unkept,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    const LDIF: &str = "dn: OU=Kept,DC=gntech,DC=me\nobjectClass: organizationalUnit\n\n\
        dn: CN=Kim,OU=Kept,DC=gntech,DC=me\nobjectClass: user\nsAMAccountName: kim\n";

    fn json(d: &Directory) -> String {
        serde_json::to_string(&d.snapshot()).unwrap()
    }

    #[test]
    fn a_kept_forest_is_what_building_it_gives_and_no_world_sees_anothers_changes() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::scenario_start());
        // A seed no other test uses: the first directory is built, not copied.
        let config = DirectoryConfig {
            seed: 0x007e_570f_7e3a,
            ..DirectoryConfig::default()
        };
        let built = Directory::new(config.clone(), clock.clone()).unwrap();
        let provisioned = (json(&built), built.generation());
        assert!(find(&Recipe::provision(&config, clock.now())).is_some());
        assert_eq!(built.import_ldif(LDIF, "kept.ldif").unwrap(), 2);
        let imported = (json(&built), built.generation());
        // The first world changes what it built.
        built
            .import_ldif(
                "dn: OU=Mine,DC=gntech,DC=me\nobjectClass: organizationalUnit\n",
                "x",
            )
            .unwrap();

        let copied = Directory::new(config.clone(), clock.clone()).unwrap();
        assert_eq!((json(&copied), copied.generation()), provisioned);
        assert_eq!(copied.import_ldif(LDIF, "elsewhere/kept.ldif").unwrap(), 2);
        assert_eq!((json(&copied), copied.generation()), imported);
        assert!(!json(&copied).contains("OU=Mine"));

        // A directory written to after provisioning builds its import itself (and gets the
        // same GUIDs only if it did the same).
        let other = Directory::new(config.clone(), clock.clone()).unwrap();
        other
            .import_ldif(
                "dn: OU=First,DC=gntech,DC=me\nobjectClass: organizationalUnit\n",
                "y",
            )
            .unwrap();
        other.import_ldif(LDIF, "kept.ldif").unwrap();
        assert!(json(&other).contains("OU=First"));
        assert_ne!(json(&other), imported.0);

        // Another instant is another recipe.
        let later: Arc<dyn Clock> = {
            let c = ManualClock::scenario_start();
            c.advance(chrono::Duration::seconds(1));
            Arc::new(c)
        };
        let at_another_time = Directory::new(config, later).unwrap();
        assert_ne!(json(&at_another_time), provisioned.0);
    }
}
