//! `IdMap`: a small map from request ids to values, ordered by id.
//!
//! Used instead of `BTreeMap<RequestId, _>` by the session and the browser
//! layer for the requests in flight. A `BTreeMap` costs about 6 KB of wasm
//! per value type (node splitting, merging, stealing); this is a sorted
//! `Vec` with binary search, a few hundred bytes. Ids are handed out in
//! increasing order, so inserting is a push at the end. Removing leaves an
//! empty slot behind (its id keeps the order) and the slots are swept out
//! once they are half of the entries, so a removal costs O(1) amortised
//! whatever the order. (Shifting the entries behind each removed one, as
//! `Vec::remove` does, moved 8 MB per map when a burst of 1000 requests
//! finished in order; a `VecDeque` would avoid that for in-order removals
//! but costs 0.9 KB gzipped of wasm.)
//!
//! Iteration order is by id, as with `BTreeMap`.

use super::session::RequestId;

/// A map `RequestId → V` kept sorted by id (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct IdMap<V> {
    /// Sorted by id; `None` is a removed entry not swept out yet.
    entries: Vec<(RequestId, Option<V>)>,
    /// How many entries are `None`.
    removed: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> IdMap<V> {
    /// An empty map.
    pub const fn new() -> Self {
        IdMap {
            entries: Vec::new(),
            removed: 0,
        }
    }

    /// Where `id` is (possibly a removed slot), or where it would go.
    fn find(&self, id: RequestId) -> Result<usize, usize> {
        // Fast path: new ids are larger than every id present.
        match self.entries.last() {
            Some(last) if last.0 < id => Err(self.entries.len()),
            None => Err(0),
            _ => self.entries.binary_search_by(|e| e.0.cmp(&id)),
        }
    }

    /// Inserts `value` under `id`; returns the value it replaces.
    pub fn insert(&mut self, id: RequestId, value: V) -> Option<V> {
        match self.find(id) {
            Ok(i) => {
                let old = self.entries.get_mut(i)?.1.replace(value);
                if old.is_none() {
                    self.removed -= 1;
                }
                old
            }
            Err(i) => {
                self.entries.insert(i, (id, Some(value)));
                None
            }
        }
    }

    /// Removes and returns the value under `id`.
    pub fn remove(&mut self, id: &RequestId) -> Option<V> {
        let i = self.find(*id).ok()?;
        let value = self.entries.get_mut(i)?.1.take()?;
        self.removed += 1;
        if self.removed * 2 > self.entries.len() {
            self.entries.retain(|e| e.1.is_some());
            self.removed = 0;
        }
        Some(value)
    }

    /// The value under `id`.
    pub fn get(&self, id: &RequestId) -> Option<&V> {
        let i = self.find(*id).ok()?;
        self.entries.get(i)?.1.as_ref()
    }

    /// The value under `id`, mutably.
    pub fn get_mut(&mut self, id: &RequestId) -> Option<&mut V> {
        let i = self.find(*id).ok()?;
        self.entries.get_mut(i)?.1.as_mut()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len() - self.removed
    }

    /// Removes every entry; yields the values in id order.
    pub fn drain_values(&mut self) -> impl Iterator<Item = V> + '_ {
        self.removed = 0;
        self.entries.drain(..).filter_map(|e| e.1)
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

    /// Requests finishing in the order they started (a burst) do not shift
    /// the map on every removal: the entries move only when the removed
    /// slots are swept out, a handful of times in all (the last entry's
    /// address shows when it moved; `Vec::remove` moved it 999 times).
    #[test]
    fn removals_in_order_rarely_move_entries() {
        let mut map = IdMap::new();
        for id in 0..1000u64 {
            map.insert(id, id);
        }
        let mut moves = 0;
        let mut at = map.get(&999).map(|v| v as *const u64);
        for id in 0..999u64 {
            assert_eq!(map.remove(&id), Some(id));
            let now = map.get(&999).map(|v| v as *const u64);
            if now != at {
                moves += 1;
                at = now;
            }
            assert_eq!(map.len(), 999 - id as usize);
        }
        assert!(moves <= 10, "the last entry moved {moves} times");
        assert_eq!(map.drain_values().collect::<Vec<_>>(), vec![999]);
    }
}
