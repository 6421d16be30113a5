#!/usr/bin/env bash
# A one-node Slurm on this machine, to try the batch templates without a cluster:
#   cluster/slurm-local.sh up      # install (Debian's slurm-wlm, munge), configure, start
#   sbatch --nodes=1 --ntasks-per-node=2 cluster/slurm-mpirun.sbatch info
#   cluster/slurm-local.sh down    # stop the daemons
# Needs root. Jobs run as root, the node is this host with its CPUs and memory.
set -euo pipefail
case "${1:-}" in
  up)
    command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    node="$(hostname)"
    read -r cpus cores < <(slurmd -C | awk -F'[ =]' '/^NodeName/ { for (i = 1; i < NF; i++) { if ($i == "CPUs") c = $(i+1); if ($i == "CoresPerSocket") k = $(i+1) } print c, k }')
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
    mkdir -p /etc/slurm /var/spool/slurmctld-xtf /var/spool/slurmd-xtf /var/log/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=xtf-local
SlurmctldHost=$node
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SlurmUser=root
SlurmdUser=root
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd-xtf
StateSaveLocation=/var/spool/slurmctld-xtf
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$node CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cores ThreadsPerCore=1 RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    [ -f /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
    chmod 400 /etc/munge/munge.key
    pgrep -x munged >/dev/null || runuser -u munge -- munged
    pgrep -x slurmctld >/dev/null || slurmctld
    pgrep -x slurmd >/dev/null || slurmd
    for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
    sinfo -h -o %T 2>/dev/null | grep -q idle || { echo "slurm-local.sh: the node did not come up; see /var/log/slurm/" >&2; exit 1; }
    sinfo ;;
  down)
    pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true
    while pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || pgrep -x munged >/dev/null; do sleep 0.2; done ;;
  *) echo "usage: $0 up | down" >&2; exit 2 ;;
esac
