#!/usr/bin/env bash
# Run the real-peer tests against real peers in throwaway network namespaces:
#   rust/w5500-sim/tests/hostnet_realpeer.rs     HostNet driven frame by frame
#   rust/w5500-testkit/tests/realpeer_driver.rs  our driver on the simulated chip through HostNet
#                                                (http.server, socat TCP echo, UDP echo, a socat
#                                                client accepted by the driver)
#   rust/w5500-iface/tests/realpeer_dnsmasq.rs   the interface (DHCP + DNS) against dnsmasq instances
#                                                that the tests start and stop themselves (phase 2)
#
# Phase 1 (hostnet_realpeer, realpeer_driver):
#   w5k-lan-$$ (10.77.0.1/24): python3 http.server :8080, a UDP echo on :7777, dnsmasq (DHCP with
#                              --dhcp-broadcast, DNS for *.test)
#   w5k-dut-$$ (10.77.0.2/24): the Rust test process; HostNet plays the chip at 10.77.0.50
# Phase 2 (realpeer_dnsmasq), fresh namespaces w5k-dut2-$$ / w5k-lan2-$$ with the same addresses and
#   NO peer started by this script: each test runs its own dnsmasq instances in the lan namespace
#   (by PID; it may add 10.77.0.3 to the lan veth, and the leased address to the dut veth, both
#   only inside those namespaces). W5K_LAN_IF names the lan veth, W5K_SCRATCH a scratch folder.
#
# Nothing touches the machine's real interfaces: the veth pair is created and moved into the two
# namespaces, and everything is deleted by the EXIT trap (peers are killed by PID).
# Needs root and iproute2, python3, dnsmasq-base (installed with apt-get when missing).
# Usage: scripts/realpeer-test.sh [extra cargo test args]
#   W5K_PHASES="1 2" (default) selects the phases.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "realpeer-test.sh: needs root (ip netns add); skipping" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
. "$ROOT/scripts/lib/setup.sh"
# Missing commands' packages (waiting for the dpkg/apt lock if another apt holds it).
w5500_need_commands ip:iproute2 python3:python3 dnsmasq:dnsmasq-base socat:socat
SFX=$$
DUT=w5k-dut-$SFX
LAN=w5k-lan-$SFX
DIF=w5d$SFX        # interface names must stay within 15 characters
LIF=w5l$SFX
DUT2=w5k-dut2-$SFX
LAN2=w5k-lan2-$SFX
DIF2=w6d$SFX
LIF2=w6l$SFX
PHASES=${W5K_PHASES:-1 2}
SCRATCH=$(mktemp -d /tmp/w5k-realpeer.XXXXXX)
PIDS=()

stop_peers() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

cleanup() {
    set +e
    stop_peers
    for n in "$DUT" "$LAN" "$DUT2" "$LAN2"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

# Build first, outside the namespaces.
(cd "$ROOT/rust" && cargo test -q --no-run -p w5500-sim --test hostnet_realpeer \
    && cargo test -q --no-run -p w5500-testkit --test realpeer_driver \
    && cargo test -q --no-run -p w5500-iface --test realpeer_dnsmasq)

# make_pair <dut ns> <lan ns> <dut if> <lan if>: two namespaces joined by a veth pair,
# 10.77.0.2/24 on the dut side and 10.77.0.1/24 on the lan side.
make_pair() {
    ip netns add "$1"
    ip netns add "$2"
    ip link add "$3" type veth peer name "$4" netns "$2"
    ip link set "$3" netns "$1"
    ip -n "$1" addr add 10.77.0.2/24 dev "$3"
    ip -n "$2" addr add 10.77.0.1/24 dev "$4"
    for n in "$1" "$2"; do ip -n "$n" link set lo up; done
    ip -n "$1" link set "$3" up
    ip -n "$2" link set "$4" up
}

rc=0
case " $PHASES " in *" 1 "*)
echo "=== phase 1: HostNet and the driver against http.server, UDP echo, socat, dnsmasq"
make_pair "$DUT" "$LAN" "$DIF" "$LIF"

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

ip netns exec "$DUT" env W5K_REALPEER=1 W5K_DUT_IF="$DIF" W5K_DUT_IP=10.77.0.2 \
    W5K_LAN_IP=10.77.0.1 W5K_LAN_NS="$LAN" \
    bash -c "cd '$ROOT/rust' && cargo test -p w5500-sim --test hostnet_realpeer $* -- --test-threads=1 --nocapture \
        && cargo test -p w5500-testkit --test realpeer_driver $* -- --test-threads=1 --nocapture" || rc=$?
if [ "$rc" != 0 ]; then
    echo "--- dnsmasq.log"; cat "$SCRATCH/dnsmasq.log" 2>/dev/null || true
    echo "--- http.log"; cat "$SCRATCH/http.log" 2>/dev/null || true
fi
stop_peers
ip netns del "$DUT"
ip netns del "$LAN"
;; esac

case " $PHASES " in *" 2 "*)
echo "=== phase 2: the interface's DHCP and DNS against dnsmasq instances the tests run"
make_pair "$DUT2" "$LAN2" "$DIF2" "$LIF2"
mkdir -p "$SCRATCH/dnsmasq"
rc2=0
ip netns exec "$DUT2" env W5K_REALPEER=1 W5K_DUT_IF="$DIF2" W5K_DUT_IP=10.77.0.2 \
    W5K_LAN_IP=10.77.0.1 W5K_LAN_NS="$LAN2" W5K_LAN_IF="$LIF2" W5K_SCRATCH="$SCRATCH/dnsmasq" \
    bash -c "cd '$ROOT/rust' && cargo test -p w5500-iface --test realpeer_dnsmasq $* -- --test-threads=1 --nocapture" \
    || rc2=$?
[ "$rc" = 0 ] && rc=$rc2
;; esac
exit "$rc"
