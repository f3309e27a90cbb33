#!/bin/bash
# graft-cli study submit --dry-run, then on a real single-node Slurm (slurmctld + slurmd + munged in a temp
# folder): a tiny study submitted with every task killed at its second epoch's commit, then
# submitted again; the runs resume and end identical to the same study trained locally
# (results.csv less time and device, every metrics.csv less timing columns).
set -euo pipefail

CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=/usr/bin/python3
if [ ! -x "$PY" ] || ! "$PY" -c "import PIL" 2>/dev/null; then
  echo "SKIP: $PY with PIL is missing (python3-pil writes the test images)"
  exit 77
fi
t0=$(date +%s)
tmp=$(mktemp -d "/tmp/graft study.XXXXXX")   # a space in every path the script names
D=$(mktemp -d /tmp/graft-slurmd.XXXXXX)        # slurm.conf takes no spaces
stop_daemons() {
  for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
    if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  # Wait (bounded) for them to go before removing their folder.
  for _ in $(seq 50); do
    alive=0
    for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
      if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
}
trap 'stop_daemons; [ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp $D" || rm -rf "$tmp" "$D"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"

# ---- the tiny study: base, baseline and one transfer run --------------------------------
"$PY" - "$tmp" <<'EOF'
import os, random, sys
from PIL import Image
random.seed(7)
for folder, classes in (("src", ["a", "b", "c"]), ("dst", ["cat", "dog"])):
    for k, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], folder, c))
        for i in range(10):
            im = Image.new("RGB", (40, 40))
            im.putdata([tuple(min(255, random.randint(0, 120) + 90 * ((k + j) % 3 == 0)) for j in range(3))
                        for _ in range(1600)])
            im.save(os.path.join(sys.argv[1], folder, c, f"{i:02d}.jpg"), quality=90)
EOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 3 \
  --batch 8 --width 0.125 --image-size 32 > /dev/null
"$PY" - "$tmp/s/study.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["runs"] = [r for r in s["runs"] if r["id"] in ("source-base", "target-base", "only-output-trainable")]
json.dump(s, open(sys.argv[1], "w"), indent=2)
EOF
cp -a "$tmp/s" "$tmp/local"

# ---- the dry run: the script and the commands, nothing submitted --------------------------
"$CLI" study submit "$tmp/s" --dry-run --max-parallel 2 --time 0:10:00 > "$tmp/dry.txt"
grep -q '^#SBATCH --time=0:10:00$' "$tmp/dry.txt"
grep -q "^GRAFT_STUDY_RUNS='source-base target-base only-output-trainable'$" "$tmp/dry.txt"
grep -q -- "--array=0-1%2 " "$tmp/dry.txt"
grep -q -- "--array=2-2%2 --dependency=afterok:\$JOB0 --kill-on-invalid-dep=yes " "$tmp/dry.txt"
grep -qF "study run '$tmp/s'" "$tmp/dry.txt"
[ ! -e "$tmp/s/slurm" ] || { echo "--dry-run wrote $tmp/s/slurm"; exit 1; }
# An array task without the script's run list refuses rather than guess its run.
if SLURM_ARRAY_TASK_ID=0 "$CLI" study run "$tmp/s" 2> "$tmp/err.txt"; then
  echo "study run guessed an array task's run"; exit 1
fi
grep -q GRAFT_STUDY_RUNS "$tmp/err.txt"

export PATH="$PATH:/usr/sbin"
for p in slurmctld slurmd munged mungekey sbatch squeue sinfo; do
  if ! command -v "$p" >/dev/null; then
    echo "SKIP: $p is missing (apt-get install slurm-wlm munge); the dry run was checked"
    exit 77
  fi
done

# ---- a single-node Slurm -----------------------------------------------------------------
mkdir -p "$D/munge" "$D/state" "$D/spool" "$D/log"
chmod 755 "$D/munge"
read -r P1 P2 < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat > "$D/slurm.conf" <<EOF
ClusterName=graft-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$P1
SlurmdPort=$P2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket.2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
MailProg=/bin/true
# The main scheduling pass (default every 60 s) is what cancels a job whose afterok can no
# longer be met; run it every second so that the test does not wait a minute for it.
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$D/slurm.conf"
skip() { echo "SKIP: $1"; tail -n 5 "$D"/log/*.log 2>/dev/null || true; exit 77; }
mungekey -c -k "$D/munge/munge.key" >/dev/null 2>&1 || skip "mungekey failed"
chmod 600 "$D/munge/munge.key"
munged --force -F --socket="$D/munge/munge.socket.2" --key-file="$D/munge/munge.key" \
  --seed-file="$D/munge/munged.seed" --pid-file="$D/munge/munged.pid" \
  --log-file="$D/log/munged.log" >/dev/null 2>&1 &
slurmctld -D -f "$SLURM_CONF" >/dev/null 2>&1 &
slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
up=0
for _ in $(seq 150); do   # 15 s at most
  if [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || skip "Slurm did not start (no idle node in 15 s)"
echo "Slurm up after $(( $(date +%s) - t0 )) s: $(sinfo -h -o '%P %D %T %c')"

# Waits until no job of jobs.json is in squeue (bounded: $1 s), running study status as it
# goes; the states it saw go to $tmp/seen.txt.
wait_jobs() {
  local ids deadline=$(( $(date +%s) + $1 ))
  ids=$("$PY" -c 'import json,sys; print(",".join(a["job"] for a in json.load(open(sys.argv[1]))["arrays"]))' \
    "$tmp/s/slurm/jobs.json")
  : > "$tmp/seen.txt"
  while [ -n "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]; do
    "$CLI" study status "$tmp/s" >> "$tmp/seen.txt" || true
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "Slurm jobs $ids still queued after $1 s:"; squeue; tail -n 20 "$D/log/slurmctld.log"
      exit 1
    fi
    sleep 0.5
  done
}

# ---- submission 1: every task dies at its second epoch's commit ---------------------------
GRAFT_FAULT_KILL=2:1 "$CLI" study submit "$tmp/s" --max-parallel 2 --time 0:10:00 | tee "$tmp/sub1.txt"
grep -q '^Submitted level 0 (runs 0–1) as job [0-9]*$' "$tmp/sub1.txt"
grep -q '^Submitted level 1 (runs 2–2) as job [0-9]*$' "$tmp/sub1.txt"
ls "$tmp/s/slurm/"submit-*.sh > /dev/null
# One submission at a time: the transfer array is queued until the first one ends.
if "$CLI" study submit "$tmp/s" 2> "$tmp/err.txt"; then
  echo "a second submission went in while the first was queued"; exit 1
fi
grep -q "still in Slurm's queue" "$tmp/err.txt"
wait_jobs 90
# study status showed Slurm's state beside the runs while they were queued (the transfer
# run's array waits for the first one: it is PENDING at least that long).
grep -q -E '^only-output-trainable +trainable +pending +0/3 +— +PENDING ' "$tmp/seen.txt" || {
  echo "study status never showed a Slurm state:"; cat "$tmp/seen.txt"; exit 1; }
echo "study status while queued:"; grep -m 3 -E ' (PENDING|RUNNING|COMPLETING) ' "$tmp/seen.txt"
"$CLI" study status "$tmp/s" | tee "$tmp/status1.txt"
# Gone from squeue: no state beside the runs, the folders say where they stopped.
grep -q -E '^source-base +running +1/3 ' "$tmp/status1.txt"
grep -q -E '^target-base +running +1/3 ' "$tmp/status1.txt"
grep -q -E '^only-output-trainable +trainable +pending +0/3 ' "$tmp/status1.txt"
# Slurm saw the two tasks die and cancelled the transfer array that depended on them.
count() { grep -c "JobState=$1 " "$D/log/jobcomp.txt" || true; }
[ "$(count FAILED)" -eq 2 ] && [ "$(count CANCELLED)" -eq 1 ] || {
  echo "unexpected job states:"; cat "$D/log/jobcomp.txt"; exit 1; }
echo "submission 1 done after $(( $(date +%s) - t0 )) s"

# ---- submission 2: the runs resume and the transfer run follows ---------------------------
"$CLI" study submit "$tmp/s" --max-parallel 2 | tee "$tmp/sub2.txt"
wait_jobs 120
"$CLI" study status "$tmp/s" | tee "$tmp/status2.txt"
[ "$(grep -c -E ' finished +3/3 ' "$tmp/status2.txt")" -eq 3 ]
[ "$(count COMPLETED)" -eq 3 ] || { cat "$D/log/jobcomp.txt"; exit 1; }
# The base runs resumed after their committed epoch 1; the transfer run trained in full.
job2=$(sed -n 's/^Submitted level 0 (runs 0–1) as job \([0-9]*\)$/\1/p' "$tmp/sub2.txt")
out="$tmp/s/slurm/graft-demo-${job2}_0.out"
grep -q '^Slurm array task 0: run source-base$' "$out"
grep -q 'source-base epoch 2/3' "$out"
if grep -q 'source-base epoch 1/3' "$out"; then echo "source-base trained epoch 1 again"; exit 1; fi
echo "submission 2 done after $(( $(date +%s) - t0 )) s"

# ---- the same study trained here, in one process -----------------------------------------
"$CLI" study run "$tmp/local" > "$tmp/local.txt"
grep -q '^3 trained' "$tmp/local.txt"
"$CLI" table "$tmp/s" --out "$tmp/slurm.csv"
"$CLI" table "$tmp/local" --out "$tmp/local.csv"
"$PY" - "$tmp/s" "$tmp/local" "$tmp/slurm.csv" "$tmp/local.csv" <<'EOF'
import csv, os, sys
a, b, ta, tb = sys.argv[1:]
def table(p):
    return [{k: v for k, v in r.items() if k not in ("Training time (s)", "Device")}
            for r in csv.DictReader(open(p, newline=""))]
assert table(ta) == table(tb), (table(ta), table(tb))
for run in ("source-base", "target-base", "only-output-trainable"):
    def rows(d):
        return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_second")}
                for r in csv.DictReader(open(os.path.join(d, "runs", run, "metrics.csv")))]
    assert len(rows(a)) == 3 and rows(a) == rows(b), (run, rows(a), rows(b))
print("Slurm runs (killed and resumed) match the local runs:", len(table(ta)), "rows")
EOF
echo "test-slurm: $(( $(date +%s) - t0 )) s"
