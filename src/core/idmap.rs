//! `IdMap`: a small map from request ids to values, ordered by id.
//!
//! Used instead of `BTreeMap<RequestId, _>` by the session and the browser
//! layer for the requests in flight. A `BTreeMap` costs about 6 KB of wasm
//! per value type (node splitting, merging, stealing); this is a sorted
//! `VecDeque` with binary search. Ids are handed out in increasing order, so
//! inserting is a push at the back; requests mostly finish in the order they
//! started, and a `VecDeque` removal shifts whichever side is shorter, so
//! removing the oldest is O(1). (A sorted `Vec` shifted every entry behind
//! the removed one: a burst of 1000 requests finishing in order moved
//! 8 MB of memory, a few milliseconds in the bench.)
//!
//! Iteration order is by id, as with `BTreeMap`.

use std::collections::VecDeque;

use super::session::RequestId;

/// A map `RequestId → V` kept sorted by id (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct IdMap<V> {
    entries: VecDeque<(RequestId, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            entries: VecDeque::new(),
        }
    }
}

impl<V> IdMap<V> {
    /// An empty map.
    pub const fn new() -> Self {
        IdMap {
            entries: VecDeque::new(),
        }
    }

    /// Where `id` is, or where it would go.
    fn find(&self, id: RequestId) -> Result<usize, usize> {
        // Fast path: new ids are larger than every id present.
        match self.entries.back() {
            Some(last) if last.0 < id => Err(self.entries.len()),
            None => Err(0),
            _ => self.entries.binary_search_by(|e| e.0.cmp(&id)),
        }
    }

    /// Inserts `value` under `id`; returns the value it replaces.
    pub fn insert(&mut self, id: RequestId, value: V) -> Option<V> {
        match self.find(id) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|e| std::mem::replace(&mut e.1, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    /// Removes and returns the value under `id`.
    pub fn remove(&mut self, id: &RequestId) -> Option<V> {
        let i = self.find(*id).ok()?;
        self.entries.remove(i).map(|e| e.1)
    }

    /// The value under `id`.
    pub fn get(&self, id: &RequestId) -> Option<&V> {
        let i = self.find(*id).ok()?;
        self.entries.get(i).map(|e| &e.1)
    }

    /// The value under `id`, mutably.
    pub fn get_mut(&mut self, id: &RequestId) -> Option<&mut V> {
        let i = self.find(*id).ok()?;
        self.entries.get_mut(i).map(|e| &mut e.1)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes every entry; yields the values in id order.
    pub fn drain_values(&mut self) -> impl Iterator<Item = V> + '_ {
        self.entries.drain(..).map(|e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Random operations on an `IdMap` and a `BTreeMap` give the same results.
    #[test]
    fn behaves_like_btreemap() {
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut ours = IdMap::new();
        let mut std_map = BTreeMap::new();
        let mut counter = 0u64;
        for step in 0..20_000u64 {
            let r = next();
            // Mostly increasing ids (as handed out), sometimes an old or reused one.
            let id = if r % 4 == 0 {
                next() % (counter + 1)
            } else {
                counter
            };
            match r % 7 {
                0..=2 => {
                    counter += 1;
                    assert_eq!(ours.insert(id, step), std_map.insert(id, step));
                }
                3 | 4 => assert_eq!(ours.remove(&id), std_map.remove(&id)),
                5 => assert_eq!(ours.get(&id), std_map.get(&id)),
                _ => {
                    if let (Some(a), Some(b)) = (ours.get_mut(&id), std_map.get_mut(&id)) {
                        *a += 1;
                        *b += 1;
                    } else {
                        assert!(ours.get_mut(&id).is_none() && std_map.get_mut(&id).is_none());
                    }
                }
            }
            assert_eq!(ours.len(), std_map.len());
            assert_eq!(ours.is_empty(), std_map.is_empty());
        }
        assert!(!ours.is_empty(), "the sequence should leave entries behind");
        let drained: Vec<_> = ours.drain_values().collect();
        let want: Vec<_> = std::mem::take(&mut std_map).into_values().collect();
        assert_eq!(drained, want);
        assert!(ours.is_empty());
    }

    /// Requests finishing in the order they started (a burst) never shift
    /// the map: the oldest entry is removed from the front. (`VecDeque`
    /// keeps its buffer; the entries' addresses show whether they moved.)
    #[test]
    fn removing_the_oldest_moves_nothing() {
        let mut map = IdMap::new();
        for id in 0..1000u64 {
            map.insert(id, id);
        }
        let last = map.get(&999).map(|v| v as *const u64);
        for id in 0..999u64 {
            assert_eq!(map.remove(&id), Some(id));
            assert_eq!(
                map.get(&999).map(|v| v as *const u64),
                last,
                "after removing {id}"
            );
        }
        assert_eq!(map.len(), 1);
    }
}
