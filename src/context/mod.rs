//! The context of a running test: who it is ([`TestId`]) and what each
//! layer keeps for it while it runs (its process logs, its capture,
//! whether it set faults), reachable from every thread that works for it.
//!
//! Beside the layers (rank 1, like `privilege/`): it imports only the
//! kernel layer and the error type, so every layer above may read it
//! (ARCHITECTURE.md 1). What each layer keeps is its own type, stored in
//! the context by type ([`TestContext::state`]): this module names none.
//!
//! Which test a thread works for ([`current`]), in this order:
//! 1. the thread's own context, set on the test's threads: the runner's,
//!    the body's namespace thread, every namespace thread made from them
//!    (`namespace/thread.rs`), the worker threads of an `async` body's
//!    runtime (`on_thread_start`), and a fixture's setup (its own context,
//!    `fixture-NAME`);
//! 2. otherwise (a thread the body spawned with `std::thread::spawn`,
//!    which starts in the body's namespace, ARCHITECTURE.md 2.1), the test
//!    whose namespace the thread is in, if exactly one running test is in
//!    it (a fixture's host may hold several);
//! 3. otherwise, if exactly one test runs in this process (cargo-nextest
//!    runs one per process), that one.

use std::any::Any;
use std::cell::RefCell;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

mod id;

pub(crate) use id::file_name;
pub use id::TestId;

/// Who a context is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A `#[netns_test]`.
    Test(TestId),
    /// A suite fixture's setup: what it starts belongs to the fixture, not
    /// to the test that happened to build it.
    Fixture(&'static str),
}

/// One running test (or fixture setup) and what the layers keep for it.
pub(crate) struct TestContext {
    owner: Owner,
    /// The fault seed of this run of a seed sweep, if it is one.
    seed: Option<u64>,
    /// One value per type, each a layer's (`Any` keyed by its `TypeId`).
    state: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for TestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestContext")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl TestContext {
    fn new(owner: Owner) -> Arc<TestContext> {
        TestContext::seeded(owner, None)
    }

    fn seeded(owner: Owner, seed: Option<u64>) -> Arc<TestContext> {
        Arc::new(TestContext {
            owner,
            seed,
            state: Mutex::new(Vec::new()),
        })
    }

    /// The fault seed of this run of a seed sweep: what faults without a
    /// seed of their own draw from instead of the process's.
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    pub(crate) fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The test's id (`None` for a fixture's setup).
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    pub(crate) fn test(&self) -> Option<TestId> {
        match self.owner {
            Owner::Test(id) => Some(id),
            Owner::Fixture(_) => None,
        }
    }

    /// The name of the directory of this context's per-test files, and of
    /// its capture file: the test's [`TestId::file_name`], or
    /// `fixture-NAME` (escaped the same way).
    pub(crate) fn file_name(&self) -> String {
        match &self.owner {
            Owner::Test(id) => id.file_name(),
            Owner::Fixture(name) => fixture_file_name(name),
        }
    }

    /// What a layer keeps for this test: the value of type `T`, made with
    /// `T::default()` on first use.
    pub(crate) fn state<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut state = self.state.lock();
        if let Some(found) = state.iter().find_map(|s| s.clone().downcast::<T>().ok()) {
            return found;
        }
        let made = Arc::new(T::default());
        state.push(made.clone());
        made
    }

    /// The value of type `T`, if a layer made one.
    pub(crate) fn state_if<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.state
            .lock()
            .iter()
            .find_map(|s| s.clone().downcast::<T>().ok())
    }
}

/// The directory name of fixture `name`'s setup: `fixture-NAME`.
pub(crate) fn fixture_file_name(name: &str) -> String {
    format!("fixture-{}", file_name(name))
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<TestContext>>> = const { RefCell::new(None) };
}

/// Tests running now, and the threads (by id) their bodies run on. A body's
/// thread stays in the namespace it runs in, so its namespace is looked up
/// (`/proc/self/task/TID/ns/net`) only when a thread with no context asks,
/// not on every test's path.
static RUNNING: Mutex<Vec<(Weak<TestContext>, Vec<i32>)>> = Mutex::new(Vec::new());

/// The context of the test the calling thread works for (see the module).
pub(crate) fn current() -> Option<Arc<TestContext>> {
    if let Some(ctx) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
        return Some(ctx);
    }
    let running = RUNNING.lock();
    let live: Vec<_> = running
        .iter()
        .filter_map(|(ctx, ns)| Some((ctx.upgrade()?, ns)))
        .collect();
    if live.len() > 1 {
        if let Some(here) = crate::kernel::thread_netns_inode() {
            let mut inside = live.iter().filter(|(_, bodies)| {
                bodies
                    .iter()
                    .any(|&tid| crate::kernel::task_netns_inode(tid) == Some(here))
            });
            if let (Some((ctx, _)), None) = (inside.next(), inside.next()) {
                return Some(ctx.clone());
            }
        }
        return None;
    }
    live.into_iter().next().map(|(ctx, _)| ctx)
}

/// A running test: its context is the calling thread's, and the process's
/// (for [`current`]'s fallbacks), until this drops.
#[must_use = "the test runs until the guard drops"]
pub(crate) struct Running {
    ctx: Arc<TestContext>,
    _entered: Entered,
}

impl Running {
    pub(crate) fn context(&self) -> &Arc<TestContext> {
        &self.ctx
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .retain(|(ctx, _)| ctx.strong_count() > 0 && !ctx.ptr_eq(&Arc::downgrade(&self.ctx)));
    }
}

/// Starts the context of test `id` (with the fault seed of a sweep's
/// run, if it is one) on the calling thread (the runner's).
pub(crate) fn start_test(id: TestId, seed: Option<u64>) -> Running {
    let ctx = TestContext::seeded(Owner::Test(id), seed);
    RUNNING.lock().push((Arc::downgrade(&ctx), Vec::new()));
    Running {
        _entered: enter(ctx.clone()),
        ctx,
    }
}

/// Runs `f` in the context of fixture `name`'s setup: what it starts is
/// the fixture's.
pub(crate) fn in_fixture_setup<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    let _entered = enter(TestContext::new(Owner::Fixture(name)));
    f()
}

/// Notes that the calling thread's test runs its body in the calling
/// thread's network namespace, so that threads the body spawns are found
/// by their namespace.
pub(crate) fn body_runs_here() {
    let Some(ctx) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() else {
        return;
    };
    let here = crate::kernel::thread_id();
    let mut running = RUNNING.lock();
    if let Some((_, bodies)) = running
        .iter_mut()
        .find(|(c, _)| c.upgrade().is_some_and(|c| Arc::ptr_eq(&c, &ctx)))
    {
        bodies.push(here);
    }
}

/// The calling thread works for `ctx` until the guard drops (the previous
/// context, if any, is put back).
pub(crate) fn enter(ctx: Arc<TestContext>) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(ctx)));
    Entered { previous }
}

/// See [`enter`].
#[must_use = "the context is left when the guard drops"]
pub(crate) struct Entered {
    previous: Option<Arc<TestContext>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Wraps `f`, to be run on a new thread, so that the thread works for the
/// calling thread's test (namespace threads, a runtime's workers).
pub(crate) fn inherit<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let ctx = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
    move || {
        let _entered = ctx.map(enter);
        f()
    }
}

/// The calling thread's own context (not the fallbacks of [`current`]),
/// to hand to threads made elsewhere (a runtime's `on_thread_start`).
pub(crate) fn own() -> Option<Arc<TestContext>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Makes `ctx` the calling thread's context for the rest of its life: for
/// threads started by others on a test's behalf (a runtime's workers),
/// which end with the test.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn adopt_thread(ctx: Option<Arc<TestContext>>) {
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = ctx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_reaches_inherited_threads_and_is_left_after() {
        let id = TestId::new("ctx_tests", "reach");
        let running = start_test(id, None);
        assert_eq!(current().unwrap().test(), Some(id));
        let seen = std::thread::scope(|s| {
            s.spawn(inherit(|| current().and_then(|c| c.test())))
                .join()
                .unwrap()
        });
        assert_eq!(seen, Some(id));
        in_fixture_setup("lab", || {
            assert_eq!(current().unwrap().test(), None);
            assert_eq!(current().unwrap().file_name(), "fixture-lab");
        });
        assert_eq!(current().unwrap().test(), Some(id), "put back after setup");
        drop(running);
        assert!(own().is_none());
    }

    #[test]
    fn each_layer_keeps_its_own_state_by_type() {
        #[derive(Default)]
        struct Mine(std::sync::atomic::AtomicUsize);
        let ctx = TestContext::new(Owner::Fixture("x"));
        assert!(ctx.state_if::<Mine>().is_none());
        ctx.state::<Mine>()
            .0
            .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let again = ctx.state::<Mine>();
        assert_eq!(again.0.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert!(ctx.state_if::<String>().is_none());
    }
}
