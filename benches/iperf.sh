#!/bin/sh
# Wire link throughput, no faults, with iperf3 through `ip netns exec`,
# beside veth pairs in the same topology (examples/iperf_links.rs): TCP
# goodput against a veth pair with the same offloads off, and 18-byte UDP
# datagrams a second against a plain veth pair. Run as root from the
# repository: `sh benches/iperf.sh [SECONDS]` (default 5 per figure).
# Needs iperf3 and python3; CI does not run it.
set -eu
secs=${1:-5}
cd "$(dirname "$0")/.."
cargo build --quiet --release --features wire --example iperf_links
fifo=$(mktemp -u) && mkfifo "$fifo"
out=$(mktemp)
target/release/examples/iperf_links <"$fifo" >"$out" &
pid=$!
exec 3>"$fifo"
trap 'exec 3>&-; wait $pid; rm -f "$fifo" "$out"' EXIT
until grep -q ready "$out"; do
    kill -0 $pid || exit 1
    sleep 0.1
done

# iperf3 CLIENT_HOST SERVER_HOST SERVER_ADDR ARGS...: its JSON report.
run() {
    c=nt-iperf-$pid-$1 s=nt-iperf-$pid-$2 addr=$3
    shift 3
    ip netns exec "$s" iperf3 -s -1 >/dev/null &
    spid=$!
    sleep 0.3
    ip netns exec "$c" iperf3 -c "$addr" -t "$secs" -J "$@"
    wait $spid
}
tcp() { python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'; }
udp() { python3 -c 'import json,sys; s=json.load(sys.stdin)["end"]["sum"]; print("%.0f" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))'; }

wire_tcp=$(run wc ws 10.1.0.2 | tcp)
veth_tcp=$(run oc os 10.2.0.2 | tcp)
wire_udp=$(run wc ws 10.1.0.2 -u -l 18 -b 0 | udp)
veth_udp=$(run pc ps 10.3.0.2 -u -l 18 -b 0 | udp)
echo "TCP goodput, Mbit/s:        wire $wire_tcp | veth, offloads off $veth_tcp ($((100 * wire_tcp / veth_tcp))%)"
echo "18-byte UDP datagrams/s:    wire $wire_udp | plain veth $veth_udp ($((100 * wire_udp / veth_udp))%)"
