//! The listener lists of a socket, with the semantics of Node's `EventEmitter`, which
//! socket.io's sockets have on both sides: several listeners per event, called in the order
//! they were added (or put first with `prepend`); a `once` listener removed when it fires;
//! a listener removed by the id its registration returned (a Rust closure has no identity to
//! compare, as a JavaScript function has).
//!
//! Only the bookkeeping lives here; the drivers call the listeners. The handler type `H` is
//! theirs (an `Arc` of a closure: cheap to clone).
//!
//! ```
//! use socketio_proto::listeners::{AnyListeners, EventListeners};
//!
//! let mut events = EventListeners::default();
//! let first = events.on("chat", "first");
//! events.once("chat", "only once");
//! events.prepend("chat", "before all");
//! assert_eq!(events.fire("chat").collect::<Vec<_>>(), ["before all", "first", "only once"]);
//! assert_eq!(events.fire("chat").collect::<Vec<_>>(), ["before all", "first"]);
//! assert!(events.off("chat", first));
//! assert_eq!(events.count("chat"), 1);
//!
//! let mut any = AnyListeners::default();
//! let id = any.on("log");
//! any.prepend("audit");
//! assert_eq!(any.handlers(), ["audit", "log"]);
//! assert!(any.off(id));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one listener, to remove it ([`EventListeners::off`], [`AnyListeners::off`]).
/// Unique in the process: an id never matches a listener it was not returned for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(NonZeroU64);

impl fmt::Debug for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListenerId({})", self.0)
    }
}

impl ListenerId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // 2^63 registrations would take centuries; the top bit marks a `once` listener.
        Self(NonZeroU64::new(n & !ONCE).unwrap_or(NonZeroU64::MIN))
    }

    fn of(id: u64) -> Self {
        Self(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }
}

/// The bit of an entry's id that marks a listener called once.
const ONCE: u64 = 1 << 63;

struct Entry<H> {
    name: Cow<'static, str>,
    /// The listener's id, with [`ONCE`] set for a `once` listener.
    id: u64,
    handler: H,
}

impl<H> Entry<H> {
    fn id(&self) -> u64 {
        self.id & !ONCE
    }
}

/// The listeners of named events: one vector sorted by name, each name's listeners in
/// calling order (a socket has a few listeners: a vector of four takes less memory than any
/// map and finds a name as fast).
pub struct EventListeners<H> {
    entries: Vec<Entry<H>>,
}

impl<H> Default for EventListeners<H> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<H> fmt::Debug for EventListeners<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| (&*e.name, ListenerId::of(e.id()))),
            )
            .finish()
    }
}

impl<H> EventListeners<H> {
    /// The range of `name`'s listeners.
    fn range(&self, name: &str) -> std::ops::Range<usize> {
        let start = self.entries.partition_point(|e| *e.name < *name);
        let len = self.entries[start..]
            .iter()
            .take_while(|e| *e.name == *name)
            .count();
        start..start + len
    }

    fn add(&mut self, name: Cow<'static, str>, handler: H, once: bool, first: bool) -> ListenerId {
        let id = ListenerId::next();
        let range = self.range(&name);
        let at = if first { range.start } else { range.end };
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(4);
        }
        let flag = if once { ONCE } else { 0 };
        self.entries.insert(
            at,
            Entry {
                name,
                id: id.0.get() | flag,
                handler,
            },
        );
        id
    }

    /// Adds `handler` after `name`'s other listeners (`on`).
    pub fn on(&mut self, name: impl Into<Cow<'static, str>>, handler: H) -> ListenerId {
        self.add(name.into(), handler, false, false)
    }

    /// Adds `handler` before `name`'s other listeners (`prependListener`).
    pub fn prepend(&mut self, name: impl Into<Cow<'static, str>>, handler: H) -> ListenerId {
        self.add(name.into(), handler, false, true)
    }

    /// Adds `handler` for the next `name` event only (`once`).
    pub fn once(&mut self, name: impl Into<Cow<'static, str>>, handler: H) -> ListenerId {
        self.add(name.into(), handler, true, false)
    }

    /// Adds `handler` for the next `name` event only, before the others
    /// (`prependOnceListener`).
    pub fn prepend_once(&mut self, name: impl Into<Cow<'static, str>>, handler: H) -> ListenerId {
        self.add(name.into(), handler, true, true)
    }

    /// Removes the listener `id` of `name` (`off`); false if it is not there (removed
    /// already, fired as a `once` listener, or registered for another event).
    pub fn off(&mut self, name: &str, id: ListenerId) -> bool {
        let range = self.range(name);
        match self.entries[range.clone()]
            .iter()
            .position(|e| e.id() == id.0.get())
        {
            Some(i) => {
                self.entries.remove(range.start + i);
                true
            }
            None => false,
        }
    }

    /// Removes `name`'s listeners, or every listener with `None` (`removeAllListeners`).
    pub fn remove_all(&mut self, name: Option<&str>) {
        match name {
            Some(name) => {
                let range = self.range(name);
                self.entries.drain(range);
            }
            None => self.entries.clear(),
        }
    }

    /// The ids of `name`'s listeners, in calling order (`listeners`).
    pub fn ids(&self, name: &str) -> Vec<ListenerId> {
        self.entries[self.range(name)]
            .iter()
            .map(|e| ListenerId::of(e.id()))
            .collect()
    }

    /// How many listeners `name` has (`listenerCount`).
    pub fn count(&self, name: &str) -> usize {
        self.range(name).len()
    }

    /// The names with listeners, sorted (`eventNames`).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.iter().map(|e| &*e.name).collect();
        names.dedup();
        names
    }

    /// True when no event has a listener.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<H: Clone> EventListeners<H> {
    /// The listeners to call for one `name` event, in order; the `once` ones among them are
    /// removed (`emit`). One listener, the usual case, is handed over without allocating.
    pub fn fire(&mut self, name: &str) -> Fire<H> {
        let range = self.range(name);
        let fire = match range.len() {
            0 => return Fire::None,
            1 => Fire::One(Some(self.entries[range.start].handler.clone())),
            _ => Fire::Many(
                self.entries[range.clone()]
                    .iter()
                    .map(|e| e.handler.clone())
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
        };
        if self.entries[range.clone()].iter().any(|e| e.id & ONCE != 0) {
            let mut i = range.start;
            let mut end = range.end;
            while i < end {
                if self.entries[i].id & ONCE != 0 {
                    self.entries.remove(i);
                    end -= 1;
                } else {
                    i += 1;
                }
            }
        }
        fire
    }
}

/// The listeners [`EventListeners::fire`] returns, in calling order.
#[derive(Debug)]
pub enum Fire<H> {
    /// No listener.
    None,
    /// One listener (taken by the first `next`).
    One(Option<H>),
    /// Several.
    Many(std::vec::IntoIter<H>),
}

impl<H> Fire<H> {
    /// How many listeners are left to call.
    pub fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::One(h) => usize::from(h.is_some()),
            Self::Many(it) => it.len(),
        }
    }

    /// True when no listener is left to call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<H> Iterator for Fire<H> {
    type Item = H;

    fn next(&mut self) -> Option<H> {
        match self {
            Self::None => None,
            Self::One(h) => h.take(),
            Self::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<H> ExactSizeIterator for Fire<H> {}

/// Listeners of every event (`onAny`, `onAnyOutgoing`), in calling order.
pub struct AnyListeners<H> {
    entries: Vec<(ListenerId, H)>,
}

impl<H> Default for AnyListeners<H> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<H> fmt::Debug for AnyListeners<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(id, _)| id))
            .finish()
    }
}

impl<H> AnyListeners<H> {
    /// Adds `handler` after the others (`onAny`).
    pub fn on(&mut self, handler: H) -> ListenerId {
        let id = ListenerId::next();
        self.entries.push((id, handler));
        id
    }

    /// Adds `handler` before the others (`prependAny`).
    pub fn prepend(&mut self, handler: H) -> ListenerId {
        let id = ListenerId::next();
        self.entries.insert(0, (id, handler));
        id
    }

    /// Removes the listener `id` (`offAny(listener)`); false if it is not there.
    pub fn off(&mut self, id: ListenerId) -> bool {
        match self.entries.iter().position(|(i, _)| *i == id) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes every listener (`offAny()`).
    pub fn clear(&mut self) {
        self.entries = Vec::new();
    }

    /// The ids of the listeners, in calling order (`listenersAny`).
    pub fn ids(&self) -> Vec<ListenerId> {
        self.entries.iter().map(|(id, _)| *id).collect()
    }

    /// True when there is no listener.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<H: Clone> AnyListeners<H> {
    /// The listeners, in calling order (a copy: a listener may add or remove listeners).
    pub fn handlers(&self) -> Vec<H> {
        self.entries.iter().map(|(_, h)| h.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(l: &mut EventListeners<u32>, name: &str) -> Vec<u32> {
        l.fire(name).collect()
    }

    #[test]
    fn listeners_of_an_event_fire_in_the_order_they_were_added_and_prepended_ones_first() {
        let mut l = EventListeners::default();
        l.on("b", 20);
        l.on("a", 1);
        l.on("a", 2);
        l.prepend("a", 0);
        l.on("c", 30);
        assert_eq!(fired(&mut l, "a"), [0, 1, 2]);
        assert_eq!(fired(&mut l, "b"), [20]);
        assert_eq!(fired(&mut l, "zzz"), Vec::<u32>::new());
        assert_eq!(l.names(), ["a", "b", "c"]);
    }

    #[test]
    fn a_once_listener_fires_one_time_and_the_others_stay() {
        let mut l = EventListeners::default();
        l.once("a", 1);
        l.on("a", 2);
        l.prepend_once("a", 0);
        l.once("b", 9);
        assert_eq!(fired(&mut l, "a"), [0, 1, 2]);
        assert_eq!(fired(&mut l, "a"), [2]);
        assert_eq!(fired(&mut l, "b"), [9]);
        assert_eq!(l.count("b"), 0);
        assert_eq!(l.names(), ["a"]);
    }

    #[test]
    fn off_removes_only_the_listener_of_that_event_with_that_id() {
        let mut l = EventListeners::default();
        let a1 = l.on("a", 1);
        let a2 = l.on("a", 2);
        let b = l.on("b", 3);
        assert!(!l.off("a", b), "an id of another event removes nothing");
        assert!(l.off("a", a1));
        assert!(!l.off("a", a1), "removed already");
        assert_eq!(l.ids("a"), [a2]);
        l.remove_all(Some("a"));
        assert_eq!(l.count("a"), 0);
        assert_eq!(l.ids("b"), [b]);
        l.remove_all(None);
        assert!(l.is_empty());
    }

    #[test]
    fn a_fired_once_listener_can_no_longer_be_removed() {
        let mut l = EventListeners::default();
        let id = l.once("a", 1);
        assert_eq!(fired(&mut l, "a"), [1]);
        assert!(!l.off("a", id));
    }

    #[test]
    fn any_listeners_keep_their_order_and_come_off_by_id_or_all_at_once() {
        let mut any = AnyListeners::default();
        let one = any.on(1);
        let two = any.on(2);
        let zero = any.prepend(0);
        assert_eq!(any.handlers(), [0, 1, 2]);
        assert_eq!(any.ids(), [zero, one, two]);
        assert!(any.off(one));
        assert!(!any.off(one));
        assert_eq!(any.handlers(), [0, 2]);
        any.clear();
        assert!(any.is_empty());
    }

    #[test]
    fn listener_ids_are_distinct() {
        let mut l = EventListeners::default();
        let a = l.on("a", 1);
        let b = l.once("a", 1);
        assert_ne!(a, b);
        assert_eq!(l.ids("a"), [a, b]);
    }
}
