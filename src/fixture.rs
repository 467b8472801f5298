//! Suite fixtures: a value (typically a [`Network`](crate::Network)) built
//! once per test process, on first use, and shared by many tests.

/// What the runner needs of a fixture, whatever its value type.
#[doc(hidden)]
pub trait SuiteFixture: Sync {
    /// The fixture's name, as declared.
    fn fixture_name(&self) -> &'static str;
}
