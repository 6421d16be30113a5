#!/usr/bin/env bash
# Several "hosts" on one machine, for testing what crosses a network: each host is a
# network namespace (xtf-h1 .. xtf-hN) with its own address 10.77.0.(10+i)/24 on a veth pair
# whose other end joins the bridge xtf-br0 (10.77.0.1 in the root namespace, where mpirun
# runs). Ranks started in them by cluster/netns-rsh talk over Open MPI's TCP transport.
#   cluster/netns-hosts.sh up 4        # create 4 hosts (idempotent)
#   cluster/netns-hosts.sh hostfile 4  # print a hostfile naming them
#   cluster/netns-hosts.sh shape 1gbit 0.5ms   # every host's outgoing link: rate, one-way delay
#   cluster/netns-hosts.sh unshape             # full speed again
#   cluster/netns-hosts.sh down        # remove them all
# Needs root and iproute2 (tc, and the netem qdisc for a delay).
set -euo pipefail
bridge=xtf-br0
prefix=10.77.0

host_ip() { echo "$prefix.$((10 + $1))"; }

up() {
  local n="$1"
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$prefix.1/24" dev "$bridge"
    ip link set "$bridge" up
  fi
  for i in $(seq 1 "$n"); do
    local ns="xtf-h$i" veth="xtf-v$i"
    ip netns list | grep -qw "$ns" && continue
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$bridge" up
    ip -n "$ns" addr add "$(host_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add default via "$prefix.1"
  done
}

down() {
  for ns in $(ip netns list | awk '/^xtf-h[0-9]+/ {print $1}'); do ip netns del "$ns"; done
  ip link show "$bridge" >/dev/null 2>&1 && ip link del "$bridge"
  true
}

hostfile() {
  local n="$1" slots="${2:-1}"
  for i in $(seq 1 "$n"); do echo "$(host_ip "$i") slots=$slots"; done
}

shape() {
  # Shapes every host's outgoing link (its eth0), as a NIC of that speed would: traffic
  # between two hosts crosses one shaped link, so a delay of 0.5ms is 0.5 ms one way.
  # netem does rate and delay; kernels built without it (CONFIG_NET_SCH_NETEM) still have
  # tbf, which limits the rate but cannot add latency: then a delay is an error.
  local rate="$1" delay="${2:-}"
  for ns in $(ip netns list | awk '/^xtf-h[0-9]+/ {print $1}'); do
    if has_netem "$ns"; then
      ip netns exec "$ns" tc qdisc replace dev eth0 root netem ${delay:+delay "$delay"} rate "$rate"
    elif [ -n "$delay" ]; then
      echo "netns-hosts.sh: this kernel has no netem qdisc, so no latency can be added (tbf limits the rate only)" >&2
      exit 3
    else
      # A burst of 256 KB holds the largest segment a veth hands over (64 KB with GSO).
      ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
    fi
  done
}

has_netem() {
  ip netns exec "$1" tc qdisc replace dev lo root netem delay 0ms 2>/dev/null || return 1
  ip netns exec "$1" tc qdisc del dev lo root 2>/dev/null
}

unshape() {
  for ns in $(ip netns list | awk '/^xtf-h[0-9]+/ {print $1}'); do
    ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
  done
}

case "${1:-}" in
  up) up "${2:?number of hosts}" ;;
  down) down ;;
  hostfile) hostfile "${2:?number of hosts}" "${3:-1}" ;;
  shape) shape "${2:?rate, e.g. 1gbit}" "${3:-}" ;;
  unshape) unshape ;;
  *) echo "usage: $0 up N | down | hostfile N [slots] | shape RATE [DELAY] | unshape" >&2; exit 2 ;;
esac
