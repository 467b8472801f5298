//! Firewalls and NAT routers applied with netfilter's own `nft` program:
//! the runner (`nft -f -` in a host, started as [`Netns::spawn`] starts
//! every program, fed the whole script on stdin so a change is one
//! transaction), [`Topology::firewall`], [`Topology::nat`] and
//! [`Network::firewall`] with its guard. The rules are the network layer's
//! pure models (`network/firewall.rs`, `network/nat.rs`); the runner is
//! here because it spawns a program, and the network layer gets it as a
//! function pointer with the rules (ARCHITECTURE.md 2.14).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::network::firewall::{render_filters, Rule};
use crate::network::nat::Nat;
use crate::network::topology::{Network, Topology};
use crate::Netns;

/// What to do when `nft` is missing.
const INSTALL: &str = "nft (package nftables: apt install nftables / dnf install nftables) \
                       was found neither on PATH nor in /usr/sbin, /sbin or \
                       /usr/local/sbin; the firewall and NAT rules of netns-test need it";

/// Where `nft` is: the first `nft` on `PATH`, else in the system
/// directories an unprivileged user's `PATH` often lacks (Debian puts it
/// in `/usr/sbin`), else the bare name (whose spawn then fails with
/// `ENOENT`).
fn nft_program() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(Into::into))
        .map(|dir| dir.join("nft"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| "nft".into())
}

/// Runs `script` with `nft -f -` in `netns` (in the crate's user namespace
/// when rootless, as every spawned program), and waits for it.
///
/// # Errors
/// [`Error::Process`]: `nft` is not installed (`ENOENT`, saying what to
/// install; looked for on `PATH`, then in `/usr/sbin`, `/sbin` and
/// `/usr/local/sbin`), cannot be started, or fails; then the message holds nft's
/// own error, which names the script line (`/dev/stdin:LINE:COL`) and the
/// kernel's refusal (a missing nf_tables module: `Operation not
/// supported`), followed by the script. Nothing of the script is applied
/// then (`nft -f` is one transaction).
pub(crate) fn apply(netns: &Netns, script: &str) -> Result<()> {
    let mut command = Command::new(nft_program());
    command.args(["-f", "-"]);
    let process = netns
        .spawn_with(&mut command, Stdio::piped())
        .map_err(|e| {
            if e.errno() == Some(Errno::NOENT) {
                Error::Process {
                    program: "nft".to_owned(),
                    pid: None,
                    message: INSTALL.to_owned(),
                    errno: Some(Errno::NOENT),
                }
            } else {
                e
            }
        })?;
    let stdin = process.state.lock().child.stdin.take();
    if let Some(mut stdin) = stdin {
        // A write error (nft exited early) shows in its status and log.
        let _ = stdin.write_all(script.as_bytes());
    }
    let status = process.wait()?;
    let log = std::fs::read_to_string(process.log_path()).unwrap_or_default();
    if status.success() {
        crate::process::log::forget(process.log_path());
        return Ok(());
    }
    Err(Error::Process {
        program: "nft".to_owned(),
        pid: Some(process.pid()),
        message: failure(&netns.label(), &status.to_string(), &log, script),
        errno: None,
    })
}

/// What a failed run says: nft's own error (the script's line, the
/// kernel's refusal), then the script with its line numbers.
fn failure(netns: &str, status: &str, log: &str, script: &str) -> String {
    let numbered: String = script
        .lines()
        .enumerate()
        .map(|(i, line)| format!("\n  {:>3} {line}", i + 1))
        .collect();
    format!(
        "applying netns-test's rules in netns {netns} failed ({status}): {}\nthe script:{numbered}",
        log.trim_end()
    )
}

impl Topology {
    /// A filter rule of `host`, applied when the network is built (after
    /// its addresses and names), in the order given, in the crate's own
    /// nft table `inet netns_test` of the host (a user's own nft rules in
    /// the host are left alone). See [`Rule`] and the
    /// [firewalls](crate::_topic::firewalls) topic.
    ///
    /// # Errors
    /// [`Topology::build`] fails with [`Error::Topology`] before creating
    /// anything if `host` is not declared or the rule is inconsistent (a
    /// port without `tcp()`/`udp()`, prefixes of two families), and after
    /// creating it if `nft` fails (not installed: the message says what to
    /// install).
    pub fn firewall(self, host: &str, rule: Rule) -> Topology {
        self.filter_rule(host, rule, apply)
    }

    /// Address translation on `router` (a host declared with
    /// [`Topology::router`]), applied when the network is built, in the
    /// crate's own nft table `ip netns_test_nat` (IPv4). See [`Nat`] and
    /// the [firewalls](crate::_topic::firewalls) topic.
    ///
    /// # Errors
    /// [`Topology::build`] fails with [`Error::Topology`] before creating
    /// anything if `router` is not a declared router or has a NAT already,
    /// its outside link has no IPv4 address in the topology, a port
    /// forward's target is neither an IPv4 address nor a host with one, or
    /// a port is 0 or forwarded twice; after creating it if `nft` fails.
    pub fn nat(self, router: &str, nat: Nat) -> Topology {
        self.nat_rule(router, nat, apply)
    }
}

impl Network {
    /// Adds a filter rule to `host` at run time, after its present ones,
    /// and returns a guard that removes it again. Each change re-renders
    /// the host's whole table `inet netns_test` from the network's list of
    /// rules and applies it with one `nft` run, so it takes effect at once
    /// and entirely (connections already open included: the rules are
    /// stateless).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an inconsistent rule (see
    /// [`Rule`]), [`Error::Process`] if `nft` fails; nothing changed then.
    ///
    /// # Panics
    /// At the caller's line, as [`Network::host`], if the network has no
    /// such host.
    #[track_caller]
    pub fn firewall(&self, host: &str, rule: Rule) -> Result<FirewallGuard<'_>> {
        let netns = self.host(host);
        rule.check()?;
        static IDS: AtomicU64 = AtomicU64::new(1);
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let mut filters = self.filters.lock();
        let mut next = filters.clone();
        next.push((host.to_owned(), id, rule));
        apply(netns, &render_filters(&of_host(&next, host)))?;
        *filters = next;
        Ok(FirewallGuard {
            net: self,
            host: host.to_owned(),
            id,
        })
    }
}

fn of_host(filters: &[(String, u64, Rule)], host: &str) -> Vec<Rule> {
    filters
        .iter()
        .filter(|(h, _, _)| h == host)
        .map(|(_, _, r)| *r)
        .collect()
}

/// Removes the rule [`Network::firewall`] added when dropped: the host's
/// table is rendered again from the rules that remain (so guards may be
/// dropped in any order) and applied with one `nft` run.
#[must_use = "the rule is removed again when the guard drops"]
pub struct FirewallGuard<'n> {
    net: &'n Network,
    host: String,
    id: u64,
}

impl std::fmt::Debug for FirewallGuard<'_> {
    /// The host and the rule (not the whole network).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filters = self.net.filters.lock();
        let rule = filters.iter().find(|(_, id, _)| *id == self.id);
        f.debug_struct("FirewallGuard")
            .field("host", &self.host)
            .field("rule", &rule.map(|(_, _, r)| r.to_string()))
            .finish()
    }
}

impl FirewallGuard<'_> {
    /// Removes the rule now.
    ///
    /// # Errors
    /// [`Error::Process`] if `nft` fails; the rule is out of the
    /// network's list all the same.
    pub fn remove(mut self) -> Result<()> {
        self.undo()
    }

    fn undo(&mut self) -> Result<()> {
        let mut filters = self.net.filters.lock();
        let before = filters.len();
        filters.retain(|(_, id, _)| *id != self.id);
        if filters.len() == before {
            return Ok(());
        }
        apply(
            self.net.host(&self.host),
            &render_filters(&of_host(&filters, &self.host)),
        )
    }
}

impl Drop for FirewallGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.undo() {
            let _ = writeln!(
                std::io::stderr(),
                "netns-test: removing a firewall rule: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_passes_nfts_error_on_with_the_numbered_script() {
        let log = "/dev/stdin:2:3-7: Error: Could not process rule: No such file or directory\n  bogus\n  ^^^^^\n";
        let text = failure(
            "net:[4026]",
            "exit status: 1",
            log,
            "table inet t {\n  bogus\n}\n",
        );
        assert!(text.starts_with("applying netns-test's rules in netns net:[4026] failed (exit status: 1): /dev/stdin:2:3-7: Error"), "{text}");
        assert!(
            text.ends_with("the script:\n    1 table inet t {\n    2   bogus\n    3 }"),
            "{text}"
        );
    }
}
