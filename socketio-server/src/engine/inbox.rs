//! The input queue of a session task: many senders, one receiver.
//!
//! A `Mutex<VecDeque>` and a waker instead of a channel: an idle session's queue holds no
//! allocation (a channel keeps a block of slots per receiver, about 2 KB, which is what an
//! idle connection should not pay).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use super::Input;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Input>>,
    waker: AtomicWaker,
    closed: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The sending side; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct InboxSender {
    shared: Arc<Shared>,
}

/// The receiving side, owned by the session task. Dropping it closes the inbox: later
/// sends fail, and the inputs still queued are dropped (their requests are answered as for
/// an unknown session).
#[derive(Debug)]
pub(crate) struct InboxReceiver {
    shared: Arc<Shared>,
}

pub(crate) fn inbox() -> (InboxSender, InboxReceiver) {
    let shared = Arc::new(Shared::default());
    (
        InboxSender {
            shared: shared.clone(),
        },
        InboxReceiver { shared },
    )
}

/// A receiver already closed (to close a task's inbox before the task ends).
pub(crate) fn closed_receiver() -> InboxReceiver {
    let (_, rx) = inbox();
    rx
}

impl InboxSender {
    /// Queues an input; false when the session is gone.
    pub(crate) fn send(&self, input: Input) -> bool {
        {
            let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if self.shared.closed.load(Ordering::Acquire) {
                return false;
            }
            queue.push_back(input);
        }
        self.shared.waker.wake();
        true
    }
}

impl InboxSender {
    /// True once the session task is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl InboxReceiver {
    /// Polls for the next input.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Input> {
        if let Some(input) = self.pop() {
            return Poll::Ready(input);
        }
        self.shared.waker.register(cx.waker());
        // An input sent between the first look and the registration is seen here.
        match self.pop() {
            Some(input) => Poll::Ready(input),
            None => Poll::Pending,
        }
    }

    /// The next input if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Input> {
        self.pop()
    }

    fn pop(&self) -> Option<Input> {
        let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.pop_front()
    }

    /// Releases the queue's allocation if it is empty (the session is idle).
    pub(crate) fn shrink(&self) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.is_empty() && queue.capacity() > 0 {
            *queue = VecDeque::new();
        }
    }
}

impl Drop for InboxReceiver {
    fn drop(&mut self) {
        // (Emitters waiting for room are woken by the task: see SessionHandle.)
        let queued = {
            let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.closed.store(true, Ordering::Release);
            std::mem::take(&mut *queue)
        };
        drop(queued);
    }
}
