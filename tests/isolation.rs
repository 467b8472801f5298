//! Which threads and processes are in which namespace (ARCHITECTURE.md 2.1 and 4.1-4.3,
//! 3.9), asserted with nsfs inode numbers.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::__private::{run_test, TestOptions};
use netns_test::{netns_test, Netns};

#[netns_test]
fn body_runs_in_a_new_namespace() {
    let body = thread_netns_inode();
    assert_ne!(
        body,
        main_thread_netns_inode(),
        "the body is in the host namespace"
    );
}

#[netns_test]
fn loopback_is_up_for_ipv4_and_ipv6() {
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let l = TcpListener::bind(addr).unwrap();
        TcpStream::connect(l.local_addr().unwrap()).unwrap();
    }
    let flags = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
    assert!(flags.contains("lo:"), "{flags}");
}

/// The kernel fact behind ARCHITECTURE.md 4.9: a new namespace's `lo` is DOWN and
/// connecting fails with ENETUNREACH; this is what the runtime fixes.
#[test]
fn a_bare_new_namespace_cannot_reach_loopback() {
    let err = std::thread::spawn(|| {
        // SAFETY: CLONE_NEWNET does not unshare the fd table.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.unwrap();
        TcpStream::connect("127.0.0.1:9").unwrap_err()
    })
    .join()
    .unwrap();
    assert_eq!(
        err.raw_os_error(),
        Some(rustix::io::Errno::NETUNREACH.raw_os_error())
    );
}

#[netns_test]
fn threads_spawned_by_the_body_share_its_namespace() {
    let body = thread_netns_inode();
    let child = std::thread::spawn(thread_netns_inode).join().unwrap();
    let scoped = std::thread::scope(|s| s.spawn(thread_netns_inode).join().unwrap());
    assert_eq!(child, body);
    assert_eq!(scoped, body);
}

#[netns_test]
fn child_processes_share_the_namespace() {
    let body = thread_netns_inode();
    // The child's /proc/self is its own main thread: the inherited namespace.
    let out = Command::new("readlink")
        .arg("/proc/self/ns/net")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("net:[{body}]")
    );
}

/// ARCHITECTURE.md 4.3, the other way round: a thread that existed before the test
/// (a global pool built outside it) stays in the host namespace, while one
/// created lazily from inside the body lands in the test's namespace.
#[test]
fn a_thread_made_before_the_test_stays_in_the_host_namespace() {
    fn worker() -> mpsc::Sender<mpsc::Sender<u64>> {
        let (tx, rx) = mpsc::channel::<mpsc::Sender<u64>>();
        std::thread::spawn(move || {
            for reply in rx {
                reply.send(thread_netns_inode()).unwrap();
            }
        });
        tx
    }
    let host = thread_netns_inode();
    let made_before = worker();
    let (tx, rx) = mpsc::channel();
    run_test(TestOptions::default(), move || {
        let ask = |w: &mpsc::Sender<mpsc::Sender<u64>>| {
            let (reply, answer) = mpsc::channel();
            w.send(reply).unwrap();
            answer.recv().unwrap()
        };
        let made_inside = worker();
        tx.send((thread_netns_inode(), ask(&made_before), ask(&made_inside)))
            .unwrap();
    });
    let (body, before, inside) = rx.recv().unwrap();
    assert_eq!(before, host, "the pre-existing worker moved");
    assert_eq!(inside, body, "a worker spawned by the body is elsewhere");
    assert_ne!(body, host);
}

/// Runs `f` the way `#[netns_test]` does and returns its value.
fn in_test_namespace<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    run_test(TestOptions::default(), move || tx.send(f()).unwrap());
    rx.recv().unwrap()
}

/// The expansion's call, made from a plain #[test]: the calling (libtest)
/// thread and the main thread are where they were, before and after.
#[test]
fn the_libtest_thread_and_main_thread_never_move() {
    let caller = thread_netns_inode();
    let main = main_thread_netns_inode();
    let body = in_test_namespace(thread_netns_inode);
    assert_ne!(body, caller);
    assert_eq!(thread_netns_inode(), caller);
    assert_eq!(main_thread_netns_inode(), main);
}

/// ARCHITECTURE.md 4.1: a panic in the body leaves no thread in the wrong
/// namespace; the caller sees the original payload.
#[test]
fn a_panicking_body_leaves_the_caller_where_it_was() {
    let caller = thread_netns_inode();
    let payload = std::panic::catch_unwind(|| {
        run_test(TestOptions::default(), || -> () {
            std::panic::panic_any(42u32)
        })
    })
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    assert_eq!(thread_netns_inode(), caller);
}

#[netns_test]
fn each_test_gets_a_different_namespace() {
    let a = in_test_namespace(thread_netns_inode);
    let b = in_test_namespace(thread_netns_inode);
    assert_ne!(a, b);
    assert_ne!(a, thread_netns_inode());
}

#[test]
fn netns_new_and_run() {
    let caller = thread_netns_inode();
    let ns = Netns::new().unwrap();
    assert_ne!(ns.inode(), caller);
    assert_eq!(ns.name(), None);
    assert_eq!(ns.path(), None);
    let (inode, ok) = ns
        .run(|| {
            (
                thread_netns_inode(),
                TcpListener::bind("127.0.0.1:8080").is_ok(),
            )
        })
        .unwrap();
    assert_eq!(inode, ns.inode());
    assert!(ok, "loopback is up in Netns::new");
    assert_eq!(thread_netns_inode(), caller);
    // Equality is by namespace, however it was reached.
    let again = ns.run(Netns::current).unwrap().unwrap();
    assert_eq!(again, ns);
    assert_ne!(Netns::current().unwrap(), ns);
}

#[test]
fn run_borrows_and_names_its_thread_like_the_caller() {
    let ns = Netns::new().unwrap();
    let data = [1, 2, 3];
    let (sum, name) = ns
        .run(|| {
            (
                data.iter().sum::<i32>(),
                std::thread::current().name().map(str::to_owned),
            )
        })
        .unwrap();
    assert_eq!(sum, 6);
    assert_eq!(name.as_deref(), std::thread::current().name());
}

#[netns_test]
fn open_by_proc_path_reaches_the_same_namespace() {
    let tid = rustix::thread::gettid().as_raw_nonzero();
    let ns = Netns::open(format!("/proc/self/task/{tid}/ns/net")).unwrap();
    assert_eq!(ns.inode(), thread_netns_inode());
    assert_eq!(ns, Netns::current().unwrap());
}

#[test]
fn open_refuses_a_namespace_of_another_type() {
    let err = Netns::open("/proc/self/ns/uts").unwrap_err();
    assert!(matches!(err, netns_test::Error::NotNetns { .. }), "{err}");
    assert!(err.to_string().contains("/proc/self/ns/uts"), "{err}");
}

/// The limits the kernel derives from a namespace's TCP established hash
/// (`tcp_max_tw_buckets`, `tcp_max_syn_backlog`), read on a thread in the
/// calling thread's namespace or in a namespace made from it.
fn tcp_limits() -> (String, String) {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .unwrap_or_else(|e| panic!("read /proc/sys/net/ipv4/{name}: {e}"))
    };
    (read("tcp_max_tw_buckets"), read("tcp_max_syn_backlog"))
}

/// Every namespace is made from the nursery (ARCHITECTURE.md 2.15), which
/// gives it a TCP established hash of its own of 4,096 buckets: the kernel
/// derives `tcp_max_tw_buckets` (half) and `tcp_max_syn_backlog` (at least
/// 128) from its size. A namespace made straight from the host has the
/// machine's shared hash.
#[test]
fn namespaces_have_a_tcp_hash_of_their_own() {
    if !netns_test::__private::nursery_in_use() {
        return;
    }
    let own = ("2048\n".to_owned(), "128\n".to_owned());
    assert_eq!(in_test_namespace(tcp_limits), own);
    let ns = Netns::new().unwrap();
    assert_eq!(ns.run(tcp_limits).unwrap(), own);
    // One made from inside a test's namespace, and a named one.
    let nested = in_test_namespace(|| Netns::new().unwrap().run(tcp_limits).unwrap());
    assert_eq!(nested, own);
    let name = format!("nt-nursery-{}", std::process::id());
    let named = Netns::create(&name).unwrap();
    assert_eq!(named.run(tcp_limits).unwrap(), own);
    drop(named);
    let from_host = std::thread::spawn(|| {
        // SAFETY: CLONE_NEWNET does not unshare the fd table.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.unwrap();
        tcp_limits()
    })
    .join()
    .unwrap();
    assert_ne!(
        from_host, own,
        "a namespace made from the host has these limits too: nothing tells the nursery's apart"
    );
    // The decisions page's way back to the host's limit.
    let host_tw = from_host.0.clone();
    let set = in_test_namespace(move || {
        let ns = Netns::current().unwrap();
        ns.set_sysctl("net.ipv4.tcp_max_tw_buckets", host_tw.trim())
            .unwrap();
        tcp_limits().0
    });
    assert_eq!(set, from_host.0);
}

/// Where the kernel has `net.ipv4.tcp_child_ehash_entries` (Linux 6.1), the
/// nursery is in use, as root and rootless.
#[test]
fn the_nursery_is_in_use_where_the_kernel_has_the_sysctl() {
    let sysctl = std::path::Path::new("/proc/sys/net/ipv4/tcp_child_ehash_entries").exists();
    assert_eq!(netns_test::__private::nursery_in_use(), sysctl);
}
