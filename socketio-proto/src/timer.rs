//! Pending acknowledgements with deadlines, and the small helpers both machines share.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::packet::{AckId, Namespace};

/// Acks we wait for, each with an optional deadline. Expired acks are removed (the reference
/// server keeps them forever when the peer never answers).
#[derive(Debug, Default)]
pub(crate) struct PendingAcks {
    acks: BTreeMap<(Namespace, AckId), Option<Instant>>,
    deadlines: BTreeSet<(Instant, Namespace, AckId)>,
}

impl PendingAcks {
    pub(crate) fn insert(&mut self, nsp: Namespace, id: AckId, deadline: Option<Instant>) {
        if let Some(Some(old)) = self.acks.insert((nsp.clone(), id), deadline) {
            self.deadlines.remove(&(old, nsp.clone(), id));
        }
        if let Some(d) = deadline {
            self.deadlines.insert((d, nsp, id));
        }
    }

    /// Removes the ack; returns whether it was pending.
    pub(crate) fn remove(&mut self, nsp: &Namespace, id: AckId) -> bool {
        match self.acks.remove(&(nsp.clone(), id)) {
            Some(deadline) => {
                if let Some(d) = deadline {
                    self.deadlines.remove(&(d, nsp.clone(), id));
                }
                true
            }
            None => false,
        }
    }

    /// Removes every ack of a namespace; returns their ids.
    pub(crate) fn remove_namespace(&mut self, nsp: &Namespace) -> Vec<AckId> {
        let ids: Vec<AckId> = self
            .acks
            .range((nsp.clone(), AckId::new(0))..=(nsp.clone(), AckId::new(u64::MAX)))
            .map(|((_, id), _)| *id)
            .collect();
        for id in &ids {
            self.remove(nsp, *id);
        }
        ids
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(d, _, _)| *d)
    }

    /// Removes and returns the next ack whose deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(Namespace, AckId)> {
        let (d, _, _) = self.deadlines.first()?;
        if *d > now {
            return None;
        }
        let (_, nsp, id) = self.deadlines.pop_first()?;
        self.acks.remove(&(nsp.clone(), id));
        Some((nsp, id))
    }

    pub(crate) fn len(&self) -> usize {
        self.acks.len()
    }
}

/// A small deterministic generator (SplitMix64) for socket ids, seeded by the driver.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for chunk in seed.chunks(8) {
            let mut b = [0; 8];
            b.copy_from_slice(chunk);
            s = s.rotate_left(17) ^ u64::from_le_bytes(b);
        }
        Self(s)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 20 characters of the base64url alphabet (120 random bits), like `base64id`.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub(crate) fn socket_id(&mut self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let (a, b) = (self.next_u64(), self.next_u64());
        let mut id = [0; 20];
        for (i, c) in id.iter_mut().enumerate() {
            let bits = if i < 10 {
                a >> (6 * i)
            } else {
                b >> (6 * (i - 10))
            };
            *c = ALPHABET[(bits & 63) as usize];
        }
        // Characters of the alphabet above only: ASCII.
        String::from_utf8(id.to_vec()).expect("ASCII")
    }
}
