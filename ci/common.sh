# Sourced by the ci/ scripts: the summary line every way of running ends
# with, and the counting of libtest's result lines.
#
# Each ci/<way> script prints, as its last line,
#   <way>: N passed, M failed, K skipped
# (K: tests that did not run, ignored or skipped) and exits non-zero if a
# test failed, if it ran no test, or if a check of its own failed. ci/test
# collects those lines.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$1: run as root: the tests create network namespaces (or see README, 'Running without sudo cargo')" >&2
    exit 1
  fi
}

# User nobody, no supplementary group, no capability: how ci/rootless and
# ci/rootless-nextest run the tests without privilege (and without sudo).
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# Root's PATH may hold directories of root's home, which turn "command not
# found" into EACCES for nobody.
nobody_env=(env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent)

# require_userns WAY: returns if user nobody can create a user namespace
# (rootless mode needs one); otherwise fails WAY with the reason, or, with
# NETNS_TEST_ROOTLESS_OPTIONAL=1, prints why and passes it.
require_userns() {
  local way=$1 tool why
  for tool in setpriv unshare; do
    command -v "$tool" >/dev/null || finish "$way" 0 0 0 1 "$tool (util-linux) is missing"
  done
  "${nobody[@]}" unshare --user --map-root-user true 2>/dev/null && return 0
  why="user nobody cannot create a user namespace here ($("${nobody[@]}" unshare --user --map-root-user true 2>&1 | head -1))"
  if [ "${NETNS_TEST_ROOTLESS_OPTIONAL:-0}" = 1 ]; then
    echo "$way: skipped (NETNS_TEST_ROOTLESS_OPTIONAL=1): $why"
    echo "$way: 0 passed, 0 failed, 0 skipped"
    exit 0
  fi
  finish "$way" 0 0 0 1 "$why; the test binaries say why in detail, see README \"Rootless\" (NETNS_TEST_ROOTLESS_OPTIONAL=1 makes this a skip)"
}

# Totals of libtest's "test result:" lines in a log: "PASSED FAILED IGNORED".
libtest_totals() {
  grep -E '^test result: ' "$1" | awk '{p+=$4; f+=$6; i+=$8} END {print p+0, f+0, i+0}'
}

# finish WAY PASSED FAILED SKIPPED STATUS [PROBLEM...]: prints the summary
# line and exits: 0 only if STATUS is 0, nothing failed, at least one test
# passed, and no PROBLEM was reported.
finish() {
  local way=$1 passed=$2 failed=$3 skipped=$4 status=$5; shift 5
  local problem
  for problem in "$@"; do echo "$way: $problem" >&2; done
  local code=0
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ $# -ne 0 ]; then code=1; fi
  if [ "$passed" -eq 0 ]; then echo "$way: ran no test" >&2; code=1; fi
  echo "$way: $passed passed, $failed failed, $skipped skipped"
  exit "$code"
}
