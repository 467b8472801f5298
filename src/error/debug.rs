//! `Debug` for [`Error`]: the message, as `Display` prints it, so that
//! `.unwrap()` and a test returning `Result` show it readably; `{:#?}`
//! shows the variant's fields.

use std::fmt;

use super::Error;

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            Error::Sys { op, path, errno } => f
                .debug_struct("Sys")
                .field("op", op)
                .field("path", path)
                .field("errno", errno)
                .finish(),
            Error::InvalidName { name, reason } => f
                .debug_struct("InvalidName")
                .field("name", name)
                .field("reason", reason)
                .finish(),
            Error::AlreadyExists { path } => {
                f.debug_struct("AlreadyExists").field("path", path).finish()
            }
            Error::NotNetns { path, found } => f
                .debug_struct("NotNetns")
                .field("path", path)
                .field("found", found)
                .finish(),
            Error::Netlink { op, errno, detail } => f
                .debug_struct("Netlink")
                .field("op", op)
                .field("errno", errno)
                .field("detail", detail)
                .finish(),
            Error::Spawn(e) => f.debug_tuple("Spawn").field(e).finish(),
            Error::InvalidArgument {
                what,
                value,
                reason,
            } => f
                .debug_struct("InvalidArgument")
                .field("what", what)
                .field("value", value)
                .field("reason", reason)
                .finish(),
            Error::Setting {
                var,
                value,
                accepted,
            } => f
                .debug_struct("Setting")
                .field("var", var)
                .field("value", value)
                .field("accepted", accepted)
                .finish(),
            Error::Topology { step, source } => f
                .debug_struct("Topology")
                .field("step", step)
                .field("source", source)
                .finish(),
            Error::Fixture { name, message } => f
                .debug_struct("Fixture")
                .field("name", name)
                .field("message", message)
                .finish(),
            Error::Leftover { path, problem } => f
                .debug_struct("Leftover")
                .field("path", path)
                .field("problem", problem)
                .finish(),
            Error::NoSuchHost {
                fixture,
                host,
                hosts,
            } => f
                .debug_struct("NoSuchHost")
                .field("fixture", fixture)
                .field("host", host)
                .field("hosts", hosts)
                .finish(),
            Error::File { op, path, errno } => f
                .debug_struct("File")
                .field("op", op)
                .field("path", path)
                .field("errno", errno)
                .finish(),
            Error::Process {
                program,
                pid,
                message,
                errno,
            } => f
                .debug_struct("Process")
                .field("program", program)
                .field("pid", pid)
                .field("message", message)
                .field("errno", errno)
                .finish(),
        }
    }
}
