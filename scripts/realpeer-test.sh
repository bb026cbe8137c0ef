#!/usr/bin/env bash
# Run the real-peer tests against real peers in throwaway network namespaces:
#   rust/w5500-sim/tests/hostnet_realpeer.rs     HostNet driven frame by frame
#   rust/w5500-testkit/tests/realpeer_driver.rs  our driver on the simulated chip through HostNet
#                                                (http.server, socat TCP echo, UDP echo, a socat
#                                                client accepted by the driver)
#
#   w5k-lan-$$ (10.77.0.1/24): python3 http.server :8080, a UDP echo on :7777, dnsmasq (DHCP with
#                              --dhcp-broadcast, DNS for *.test)
#   w5k-dut-$$ (10.77.0.2/24): the Rust test process; HostNet plays the chip at 10.77.0.50
#
# Nothing touches the machine's real interfaces: the veth pair is created and moved into the two
# namespaces, and everything is deleted by the EXIT trap (peers are killed by PID).
# Needs root and iproute2, python3, dnsmasq-base (installed with apt-get when missing).
# Usage: scripts/realpeer-test.sh [extra cargo test args]
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "realpeer-test.sh: needs root (ip netns add); skipping" >&2
    exit 2
fi

need() { # need <command> <apt package>
    if ! command -v "$1" >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
}
need ip iproute2
need python3 python3
need dnsmasq dnsmasq-base
need socat socat

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SFX=$$
DUT=w5k-dut-$SFX
LAN=w5k-lan-$SFX
DIF=w5d$SFX        # interface names must stay within 15 characters
LIF=w5l$SFX
SCRATCH=$(mktemp -d /tmp/w5k-realpeer.XXXXXX)
PIDS=()

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    ip netns del "$DUT" 2>/dev/null
    ip netns del "$LAN" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

# Build first, outside the namespaces.
(cd "$ROOT/rust" && cargo test -q --no-run -p w5500-sim --test hostnet_realpeer \
    && cargo test -q --no-run -p w5500-testkit --test realpeer_driver)

ip netns add "$DUT"
ip netns add "$LAN"
ip link add "$DIF" type veth peer name "$LIF" netns "$LAN"
ip link set "$DIF" netns "$DUT"
ip -n "$DUT" addr add 10.77.0.2/24 dev "$DIF"
ip -n "$LAN" addr add 10.77.0.1/24 dev "$LIF"
for n in "$DUT" "$LAN"; do ip -n "$n" link set lo up; done
ip -n "$DUT" link set "$DIF" up
ip -n "$LAN" link set "$LIF" up

mkdir -p "$SCRATCH/www"
echo "hello from w5k-lan" > "$SCRATCH/www/index.html"
ip netns exec "$LAN" python3 -m http.server 8080 --bind 10.77.0.1 --directory "$SCRATCH/www" \
    >"$SCRATCH/http.log" 2>&1 &
PIDS+=($!)
ip netns exec "$LAN" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", 7777))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' >"$SCRATCH/echo.log" 2>&1 &
PIDS+=($!)
ip netns exec "$LAN" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --group=root \
    --interface="$LIF" --bind-interfaces --no-resolv --no-hosts --local=/test/ \
    --dhcp-range=10.77.0.100,10.77.0.150,2m --dhcp-broadcast \
    --dhcp-option=option:router,10.77.0.1 --dhcp-option=option:dns-server,10.77.0.1 \
    --address=/example.test/10.77.0.1 --dhcp-leasefile="$SCRATCH/leases" \
    --log-facility="$SCRATCH/dnsmasq.log" &
PIDS+=($!)

# Wait (bounded) until the HTTP server answers.
for _ in $(seq 1 50); do
    if ip netns exec "$DUT" python3 -c 'import socket; socket.create_connection(("10.77.0.1", 8080), 0.2).close()' 2>/dev/null; then
        break
    fi
    sleep 0.1
done

rc=0
ip netns exec "$DUT" env W5K_REALPEER=1 W5K_DUT_IF="$DIF" W5K_DUT_IP=10.77.0.2 \
    W5K_LAN_IP=10.77.0.1 W5K_LAN_NS="$LAN" \
    bash -c "cd '$ROOT/rust' && cargo test -p w5500-sim --test hostnet_realpeer $* -- --test-threads=1 --nocapture \
        && cargo test -p w5500-testkit --test realpeer_driver $* -- --test-threads=1 --nocapture" || rc=$?
if [ "$rc" != 0 ]; then
    echo "--- dnsmasq.log"; cat "$SCRATCH/dnsmasq.log" 2>/dev/null || true
    echo "--- http.log"; cat "$SCRATCH/http.log" 2>/dev/null || true
fi
exit "$rc"
