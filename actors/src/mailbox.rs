//! Mailboxes without the actor's type: how actors reach each other without
//! importing each other's files (no import cycles; docs/architecture.md).
//!
//! [`Mailbox<M>`] is "something that takes `M`"; every `Addr<A>` whose actor
//! handles `M` is one. A handle such as `messages::AgentRef` holds one
//! `Arc<dyn ...>` whose trait lists every message the actor takes, so a
//! handle costs one pointer, and sending through it is `Addr`'s own send.

use std::future::Future;
use std::pin::Pin;

use actix::dev::ToEnvelope;
use actix::prelude::*;

/// The answer to a [`Mailbox::send`].
pub type Reply<M> = Pin<Box<dyn Future<Output = Result<<M as Message>::Result, MailboxError>>>>;

/// Takes messages of type `M`.
pub trait Mailbox<M>: Send + Sync
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    /// Queues `M`, whatever the mailbox's fill (actix's `do_send`).
    fn do_send(&self, m: M);
    /// Queues `M` and waits for its answer.
    fn send(&self, m: M) -> Reply<M>;
}

impl<A, M> Mailbox<M> for Addr<A>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    fn do_send(&self, m: M) {
        Addr::do_send(self, m)
    }

    fn send(&self, m: M) -> Reply<M> {
        Box::pin(Addr::send(self, m))
    }
}

/// Declares a handle: a cloneable reference to one actor, by the messages
/// it takes. `$Mailboxes` is the trait listing them.
macro_rules! handle {
    ($(#[$meta:meta])* $Ref:ident, $Mailboxes:ident, [$($M:ty),+ $(,)?]) => {
        /// Every message the actor behind the handle takes.
        pub trait $Mailboxes: $($crate::mailbox::Mailbox<$M> +)+ {}
        impl<T> $Mailboxes for T where T: $($crate::mailbox::Mailbox<$M> +)+ {}

        $(#[$meta])*
        #[derive(Clone)]
        pub struct $Ref(std::sync::Arc<dyn $Mailboxes>);

        impl $Ref {
            /// A handle on an actor's address.
            pub fn new(addr: impl $Mailboxes + 'static) -> Self {
                $Ref(std::sync::Arc::new(addr))
            }

            /// Queues `m` for the actor.
            pub fn do_send<M>(&self, m: M)
            where
                M: actix::Message + Send + 'static,
                M::Result: Send,
                dyn $Mailboxes: $crate::mailbox::Mailbox<M>,
            {
                $crate::mailbox::Mailbox::<M>::do_send(&*self.0, m)
            }

            /// Queues `m` and waits for the actor's answer.
            pub fn send<M>(&self, m: M) -> $crate::mailbox::Reply<M>
            where
                M: actix::Message + Send + 'static,
                M::Result: Send,
                dyn $Mailboxes: $crate::mailbox::Mailbox<M>,
            {
                $crate::mailbox::Mailbox::<M>::send(&*self.0, m)
            }
        }

        impl std::fmt::Debug for $Ref {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($Ref))
            }
        }
    };
}

pub(crate) use handle;
