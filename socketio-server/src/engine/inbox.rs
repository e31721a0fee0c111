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
    /// The task is running and looks at the queue before it waits again: a send need not
    /// wake it (a handler emitting from within the task would otherwise wake it once more
    /// for nothing, a second poll per message).
    running: AtomicBool,
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
        // (SeqCst with the receiver's store: either it sees this input when it looks again
        // after clearing `running`, or this sees `running` cleared and wakes it.)
        if !self.shared.running.load(Ordering::SeqCst) {
            self.shared.waker.wake();
        }
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

    /// Tells senders whether the task is running (it looks at the queue before it waits
    /// again: see [`InboxReceiver::idle_recv`]).
    pub(crate) fn set_running(&self) {
        self.shared.running.store(true, Ordering::SeqCst);
    }

    /// The task is about to wait: clears `running`, then takes an input sent meanwhile
    /// (sent while `running` was set, it woke nobody), if any (the task runs on then).
    pub(crate) fn idle_recv(&mut self) -> Option<Input> {
        self.shared.running.store(false, Ordering::SeqCst);
        let input = self.pop()?;
        self.set_running();
        Some(input)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use super::{Input, inbox};

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A send while the task runs wakes nobody and is taken before the task waits; a send
    /// once it waits wakes it.
    #[test]
    fn a_send_while_the_task_runs_is_seen_before_it_waits_and_one_after_wakes_it() {
        let (tx, mut rx) = inbox();
        let wakes = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);

        rx.set_running();
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(tx.send(Input::Close));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0, "running: no wake");
        assert!(matches!(rx.idle_recv(), Some(Input::Close)));

        // Waiting for good now.
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(rx.idle_recv().is_none());
        assert!(tx.send(Input::Close));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "waiting: woken");
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Input::Close)));
    }
}
