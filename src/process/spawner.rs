//! The process-wide spawner thread, and the forker threads it starts: every
//! child of [`Netns::spawn`] is forked by a forker thread of its own, which
//! lives until the child has exited.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits
//! (prctl(2)). Namespace threads and test threads are short-lived, so a child
//! forked by one of them would be killed as soon as that thread returned
//! (golang/go#27505). A forker thread ends only once its child has exited:
//! the signal then comes only when the whole process dies, `SIGKILL`
//! included.
//!
//! A forker makes its child pid 1 of a PID namespace of its own, the
//! program's init (`kernel/pid_init.rs`, ARCHITECTURE.md 2.13): after
//! `unshare(CLONE_NEWPID)` a thread may neither create threads nor unshare
//! another PID namespace, hence one thread per child. The forkers are
//! started by the spawner thread (started on first use, never ended), which
//! sits in no test's network namespace: a forker, which starts where its
//! creator is, keeps no test's namespace alive.
//!
//! [`Netns::spawn`]: crate::Netns::spawn

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::OnceLock;

use parking_lot::Mutex;

/// A command borrowed from the caller of [`spawn`] for the time of one
/// request.
struct CommandPtr(*mut Command);

// SAFETY: `Command` is `Send`; the pointer is only dereferenced by the
// spawner thread while the caller of `spawn`, which holds the `&mut Command`
// it came from, is blocked waiting for the reply (see `spawn`).
unsafe impl Send for CommandPtr {}

struct Request {
    command: CommandPtr,
    reply: mpsc::SyncSender<io::Result<(Child, OwnedFd)>>,
}

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();

/// Spawns `command` on the spawner thread and returns the child (the
/// program's init) and the read end of its status pipe
/// (`kernel::pid_init::program_status`).
pub(crate) fn spawn(command: &mut Command) -> io::Result<(Child, OwnedFd)> {
    let sender = match SPAWNER.get() {
        Some(sender) => sender,
        None => {
            let (tx, rx) = mpsc::channel::<Request>();
            std::thread::Builder::new()
                .name("netns-test-spawner".to_owned())
                .spawn(move || serve(rx))?;
            // A second caller that raced us started a spawner of its own:
            // harmless, ours then ends as soon as its channel is dropped.
            SPAWNER.get_or_init(|| Mutex::new(tx))
        }
    };
    let (reply, answer) = mpsc::sync_channel(1);
    let request = Request {
        command: CommandPtr(command),
        reply,
    };
    sender
        .lock()
        .send(request)
        .map_err(|_| io::Error::other("the netns-test spawner thread is gone"))?;
    // The borrow of `command` ends here, when the spawner has answered (or
    // has dropped the request, and with it the reply sender, unanswered).
    answer
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the netns-test spawner thread is gone")))
}

fn serve(requests: mpsc::Receiver<Request>) {
    leave_the_creators_namespace();
    for request in requests {
        let forker = std::thread::Builder::new()
            .name("netns-test-forker".to_owned())
            .spawn(move || fork_and_wait(request));
        // Without a thread, the request (and its reply sender) is dropped:
        // the caller gets "the spawner thread is gone".
        drop(forker);
    }
}

/// A forker thread: one child, then waits until it has exited (not
/// reaping it: its `Process` does).
fn fork_and_wait(request: Request) {
    // SAFETY: see `CommandPtr`: the caller waits on `reply` and so keeps
    // the `&mut Command` borrowed, unused, until we answer below.
    let command = unsafe { &mut *request.command.0 };
    // One fork at a time: the child reads its status pipe's fd from a
    // static that `prepare` sets (`kernel/pid_init.rs`).
    static FORK: Mutex<()> = Mutex::new(());
    let forking = FORK.lock();
    let spawned = crate::kernel::pid_init::prepare().and_then(|(status, write_end)| {
        let child = command.spawn();
        drop(write_end); // the child's copy is the one that counts
        Ok((child?, status))
    });
    drop(forking);
    let pid = spawned.as_ref().map(|(child, _)| child.id()).ok();
    let _ = request.reply.send(spawned);
    if let Some(pid) = pid {
        crate::kernel::pid_init::until_exited(pid);
    }
}

/// This thread lives as long as the process, and a namespace lives as long
/// as a thread is in it: it must not keep the namespace of whichever test
/// thread started it. It moves to the main thread's namespace, or, where it
/// may not (rootless: that one belongs to the host's user namespace), to a
/// new empty one of its own. The children do not care: each enters its
/// target namespace itself before `exec`.
fn leave_the_creators_namespace() {
    if crate::kernel::child::enter_main_threads_netns().is_err() {
        let _ = crate::kernel::unshare_plain();
    }
}
