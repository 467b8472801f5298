//! The runtime of `async fn` test bodies: a tokio runtime built on the
//! namespace thread, so its worker threads are spawned inside the namespace
//! (ARCHITECTURE.md 2.1: a thread inherits its creator's
//! namespace).

/// The runtime an `async fn` test body runs on.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    /// `flavor = "current_thread"` (the default): everything on the namespace
    /// thread.
    CurrentThread,
    /// `flavor = "multi_thread"`: worker threads, spawned by the namespace
    /// thread and so inside the namespace.
    MultiThread {
        /// `worker_threads = N`; tokio's default (one per core) if `None`.
        worker_threads: Option<usize>,
    },
}

/// Builds a tokio runtime on the calling (namespace) thread and runs `fut` to
/// completion on it. Worker threads are spawned from this thread, so they
/// inherit its namespace.
#[cfg(feature = "tokio")]
#[doc(hidden)]
pub fn block_on<F: std::future::Future>(flavor: Flavor, fut: F) -> F::Output {
    let mut builder = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread { worker_threads } => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = worker_threads {
                b.worker_threads(n);
            }
            b
        }
    };
    // Worker threads work for the test that built the runtime (a network
    // built or a fault set on a worker is that test's).
    let ctx = crate::context::own();
    builder
        .on_thread_start(move || crate::context::adopt_thread(ctx.clone()))
        .enable_all()
        .build()
        .expect("netns-test: building the tokio runtime of the test")
        .block_on(fut)
}

/// `async fn` tests need the `tokio` feature.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "an `async fn` #[netns_test] needs the `tokio` feature of netns-test",
    label = "async test body",
    note = "in Cargo.toml: netns-test = {{ version = \"0.1\", features = [\"tokio\"] }}"
)]
pub trait TokioFeatureRequired {}

/// `async fn` tests need the `tokio` feature: without it this bound fails
/// with a message that says so.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
pub fn block_on<F>(_flavor: Flavor, _fut: F) -> F::Output
where
    F: std::future::Future + TokioFeatureRequired,
{
    unreachable!("TokioFeatureRequired has no implementations")
}
