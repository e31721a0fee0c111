//! What a node waits for after a request to the other nodes, and when it is done: the
//! counting rules of the reference's adapters, Sans-IO (the driver owns the timer and the
//! answers; this decides completeness and the error at the timeout).
//!
//! - A broadcast with acks ([`AckCount`], §1.4): complete when every node has said how many
//!   of its clients it reached and that many answers have come, this node's included.
//! - `fetchSockets` and `serverSideEmit` with ack ([`Answers`], §2.6, §4.4): complete when
//!   every other node has answered once; at the timeout, the reference's message.
//!
//! ```
//! use socketio_proto::cluster::request::{AckCount, Answers, Requester};
//!
//! // 3 nodes; 2 clients here; one node reaches 1 client, the other none.
//! let mut acks = AckCount::new(2);
//! acks.expect_servers(3);
//! acks.client_count(1);
//! acks.client_count(0);
//! for _ in 0..3 {
//!     assert!(!acks.is_complete());
//!     acks.answer();
//! }
//! assert!(acks.is_complete());
//!
//! let mut fetch = Answers::new(3);
//! fetch.answer();
//! assert_eq!(
//!     fetch.timeout_message(Requester::ClusterAdapter),
//!     "timeout reached: only 1 responses received out of 2"
//! );
//! ```

/// A broadcast with acks across nodes: which answers complete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckCount {
    servers_expected: Option<usize>,
    /// This node counts as answered: its clients are known at once.
    servers_answered: usize,
    clients_expected: usize,
    answers: usize,
}

impl AckCount {
    /// A broadcast with acks that reached `local_clients` clients of this node.
    pub fn new(local_clients: usize) -> Self {
        Self {
            servers_expected: None,
            servers_answered: 1,
            clients_expected: local_clients,
            answers: 0,
        }
    }

    /// The number of nodes, this one included (the server count, once known).
    pub fn expect_servers(&mut self, servers: usize) {
        self.servers_expected = Some(servers.max(1));
    }

    /// Another node reached `clients` of its clients (`BROADCAST_CLIENT_COUNT`).
    pub fn client_count(&mut self, clients: u64) {
        self.servers_answered += 1;
        self.clients_expected = self
            .clients_expected
            .saturating_add(usize::try_from(clients).unwrap_or(usize::MAX));
    }

    /// One client answered (here or on another node).
    pub fn answer(&mut self) {
        self.answers += 1;
    }

    /// Every node counted its clients, and every one of them answered.
    pub fn is_complete(&self) -> bool {
        self.servers_expected
            .is_some_and(|expected| self.servers_answered >= expected)
            && self.answers >= self.clients_expected
    }
}

/// Who asks, for the wording of the timeout error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requester {
    /// The classic Redis adapter's `fetchSockets` (after its `requestsTimeout`).
    ClassicFetch,
    /// A `ClusterAdapter` (sharded and streams adapters), and `serverSideEmit` with ack of
    /// either.
    ClusterAdapter,
}

/// A request every other node answers once (`fetchSockets`, `serverSideEmit` with ack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    expected: usize,
    answered: usize,
}

impl Answers {
    /// A request sent when `servers` nodes (this one included) were counted.
    pub fn new(servers: usize) -> Self {
        Self {
            expected: servers.saturating_sub(1),
            answered: 0,
        }
    }

    /// Another node answered.
    pub fn answer(&mut self) {
        self.answered += 1;
    }

    /// Every other node answered (at once when there is none).
    pub fn is_complete(&self) -> bool {
        self.answered >= self.expected
    }

    /// Answers expected.
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// Answers received.
    pub fn answered(&self) -> usize {
        self.answered
    }

    /// The reference's error when the timeout came first.
    pub fn timeout_message(&self, requester: Requester) -> String {
        match requester {
            Requester::ClassicFetch => {
                "timeout reached while waiting for fetchSockets response".to_owned()
            }
            Requester::ClusterAdapter => format!(
                "timeout reached: only {} responses received out of {}",
                self.answered, self.expected
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_with_acks_is_complete_only_once_every_node_counted_and_every_client_answered() {
        let mut acks = AckCount::new(0);
        // The server count is not known yet: not complete, even with nothing to wait for.
        assert!(!acks.is_complete());
        acks.expect_servers(1);
        assert!(acks.is_complete(), "one node, no client: complete at once");

        let mut acks = AckCount::new(1);
        acks.expect_servers(2);
        acks.answer();
        assert!(
            !acks.is_complete(),
            "the other node has not counted its clients"
        );
        acks.client_count(2);
        acks.answer();
        assert!(!acks.is_complete());
        acks.answer();
        assert!(acks.is_complete());
        // A count that does not fit never overflows.
        acks.client_count(u64::MAX);
        assert!(!acks.is_complete());
    }

    #[test]
    fn a_request_to_the_other_nodes_waits_for_one_answer_each_and_says_how_many_came() {
        assert!(Answers::new(1).is_complete());
        assert!(Answers::new(0).is_complete());
        let mut answers = Answers::new(3);
        answers.answer();
        assert!(!answers.is_complete());
        assert_eq!(
            answers.timeout_message(Requester::ClusterAdapter),
            "timeout reached: only 1 responses received out of 2"
        );
        assert_eq!(
            answers.timeout_message(Requester::ClassicFetch),
            "timeout reached while waiting for fetchSockets response"
        );
        answers.answer();
        assert!(answers.is_complete());
        assert_eq!((answers.answered(), answers.expected()), (2, 2));
    }
}
