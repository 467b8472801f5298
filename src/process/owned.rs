//! Processes a [`Network`] owns: [`Network::spawn`] starts one in a host
//! and the network stops it when it drops, so a fixture's network and its
//! daemons are one value.

use std::any::Any;
use std::process::Command;
use std::sync::Arc;

use crate::error::Result;
use crate::network::owned::Owned;
use crate::network::topology::Network;
use crate::process::Process;

impl Owned for Process {
    fn stop(&self) {
        if let Err(e) = Process::stop(self) {
            // Not eprintln!: this may run at exit, with stderr closed.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "netns-test: stopping {e}");
        }
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl Network {
    /// Starts `command` in `host` ([`Netns::spawn`](crate::Netns::spawn))
    /// and keeps the process: the network stops it when it drops (its
    /// processes in reverse order of spawning, before its hosts go), so a
    /// suite [`Fixture`](crate::Fixture) of a network stops its daemons at
    /// teardown. Returns a handle to it; the process is stopped with the
    /// network whoever still holds one.
    ///
    /// ```no_run
    /// use netns_test::{Fixture, Network, Topology};
    /// use std::process::Command;
    /// use std::time::Duration;
    ///
    /// static LAB: Fixture<Network> = Fixture::new("lab", || {
    ///     let net = Topology::new().host("server").build()?;
    ///     net.spawn("server", Command::new("socat").args(["TCP-LISTEN:7000,fork", "EXEC:cat"]))?
    ///         .wait_tcp(7000, Duration::from_secs(5))?;
    ///     Ok(net)
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`Netns::spawn`](crate::Netns::spawn); nothing is kept then.
    ///
    /// # Panics
    /// At the caller's line, as [`Network::host`], if the network has no
    /// such host.
    #[track_caller]
    pub fn spawn(&self, host: &str, command: &mut Command) -> Result<Arc<Process>> {
        let process = Arc::new(self.host(host).spawn(command)?);
        self.owned.push(host, process.clone());
        Ok(process)
    }

    /// The processes this network owns in `host` ([`Network::spawn`]), in
    /// the order they were spawned, stopped ones included (a test that
    /// restarts a daemon stops the old one and spawns a new one).
    pub fn processes(&self, host: &str) -> Vec<Arc<Process>> {
        self.owned
            .of(Some(host))
            .into_iter()
            .filter_map(|owned| owned.into_any().downcast::<Process>().ok())
            .collect()
    }
}
