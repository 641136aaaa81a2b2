//! One device: how a claimed device starts, the same for every transport (`start`), its
//! properties (`state`), the handle others reach it by (`handle`), the task that runs it around
//! the host core (`task`, with its store I/O in `persist`; the one owner of an outgoing message,
//! from `Send` on, is `outgoing`), and what it reports to whoever shows it (`observer`). Nothing
//! here knows D-Bus.

pub mod handle;
pub mod location;
pub mod observer;
pub mod outgoing;
pub mod persist;
pub mod span;
pub mod start;
pub mod state;
pub mod task;
