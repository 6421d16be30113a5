#!/usr/bin/env bash
# Several "hosts" on one machine, for testing what crosses a network: each host is a
# network namespace (xtf-h1 .. xtf-hN) with its own address 10.77.0.(10+i)/24 on a veth pair
# whose other end joins the bridge xtf-br0 (10.77.0.1 in the root namespace, where mpirun
# runs). Ranks started in them by cluster/netns-rsh talk over Open MPI's TCP transport.
#   cluster/netns-hosts.sh up 4        # create 4 hosts (idempotent)
#   cluster/netns-hosts.sh hostfile 4  # print a hostfile naming them
#   cluster/netns-hosts.sh netem "delay 0.5ms rate 1gbit"  # shape every host's link
#   cluster/netns-hosts.sh down        # remove them all
# Needs root and iproute2 (and tc for netem).
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

netem() {
  # Shapes both directions of every host link: egress of the host's eth0 and of its veth.
  local spec="$1"
  for ns in $(ip netns list | awk '/^xtf-h[0-9]+/ {print $1}'); do
    local i="${ns#xtf-h}"
    # shellcheck disable=SC2086
    ip netns exec "$ns" tc qdisc replace dev eth0 root netem $spec
    # shellcheck disable=SC2086
    tc qdisc replace dev "xtf-v$i" root netem $spec
  done
}

clear_netem() {
  for ns in $(ip netns list | awk '/^xtf-h[0-9]+/ {print $1}'); do
    local i="${ns#xtf-h}"
    ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
    tc qdisc del dev "xtf-v$i" root 2>/dev/null || true
  done
}

case "${1:-}" in
  up) up "${2:?number of hosts}" ;;
  down) down ;;
  hostfile) hostfile "${2:?number of hosts}" "${3:-1}" ;;
  netem) netem "${2:?netem spec, e.g. \"delay 0.5ms rate 1gbit\"}" ;;
  clear-netem) clear_netem ;;
  *) echo "usage: $0 up N | down | hostfile N [slots] | netem SPEC | clear-netem" >&2; exit 2 ;;
esac
