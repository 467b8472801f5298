//! [`Netns::run_async`] (feature `tokio`): a future run to completion on a
//! thread of its own inside a namespace, awaited from anywhere.
//!
//! A socket belongs to the namespace of the thread that made it, whoever
//! polls it later (ARCHITECTURE.md 2.6), and a runtime's workers stay where
//! they were made (2.1): so the future is made and polled on a new thread
//! that entered the namespace, with a current-thread runtime built there,
//! and its output comes back over a oneshot channel. The caller's thread
//! and runtime never enter the namespace.

use std::future::Future;
use std::os::fd::AsFd;

use crate::error::{Error, Result};
use crate::namespace::thread::thread_builder;
use crate::privilege::explain;
use crate::Netns;

type Outcome<T> = std::thread::Result<Result<T>>;

impl Netns {
    /// Runs the future `f()` to completion inside this namespace and
    /// returns a future of its output, to `.await` from any runtime (or
    /// none).
    ///
    /// A new thread, named like the calling one, enters the namespace
    /// (`setns(fd, CLONE_NEWNET)`), builds a current-thread tokio runtime
    /// (`enable_all`), calls `f` and blocks on its future there; the output
    /// comes back over a oneshot channel. Awaiting it does not block the
    /// caller's thread: a current-thread runtime of the caller keeps
    /// running its other tasks. Sockets the future makes (a
    /// `tokio::net::TcpListener` bound there, a `TcpStream` connected from
    /// there) are this namespace's, and so are threads and processes it
    /// starts; the future may hold them across `.await`s. To use such a
    /// socket on the caller's runtime instead, make it here and return
    /// it as a std socket (`into_std`), then `from_std` there: a socket
    /// stays in the namespace it was made in (socket(7)).
    ///
    /// The thread starts at once, not when the returned future is first
    /// polled; dropping the returned future does not stop it (it runs `f`'s
    /// future to its end). `f` is `Send` and `'static` (it moves to the
    /// thread); the future it returns need not be `Send`, its output must.
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn demo() -> netns_test::Result<()> {
    /// use netns_test::Netns;
    ///
    /// let server = Netns::new()?;
    /// let port = server
    ///     .run_async(|| async {
    ///         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///         listener.local_addr().unwrap().port()
    ///     })
    ///     .await?;
    /// # let _ = port;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A panic in `f` or its future resumes in the awaiting task with its
    /// payload.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `setns(CLONE_NEWNET)` (`EPERM` without
    /// `CAP_SYS_ADMIN`); [`Error::Spawn`] if the thread or its runtime
    /// cannot be started (`EAGAIN`, `EMFILE`). `f` has not run if an error
    /// is returned.
    pub fn run_async<F, Fut, T>(&self, f: F) -> impl Future<Output = Result<T>> + Send + 'static
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Outcome<T>>();
        let started = self.start(f, tx);
        async move {
            started?;
            match rx.await {
                Ok(Ok(result)) => explain(result),
                Ok(Err(payload)) => std::panic::resume_unwind(payload),
                // The thread sends before it ends, or panics into `Ok(Err)`.
                Err(_) => Err(Error::Spawn(std::io::Error::other(
                    "the namespace thread of run_async ended without a result",
                ))),
            }
        }
    }

    fn start<F, Fut, T>(&self, f: F, tx: tokio::sync::oneshot::Sender<Outcome<T>>) -> Result<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let fd = self.as_fd().try_clone_to_owned().map_err(Error::Spawn)?;
        let path = self.path().map(ToOwned::to_owned);
        let body = crate::context::inherit(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::kernel::setns_net(fd.as_fd(), path.as_deref())?;
                drop(fd);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(Error::Spawn)?;
                Ok(runtime.block_on(f()))
            }));
            let _ = tx.send(outcome);
        });
        thread_builder().spawn(body).map_err(Error::Spawn)?;
        Ok(())
    }
}
