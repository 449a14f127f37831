#!/bin/sh
# Per-task cost of keel.storage's dispatch on localhost (BENCHMARKS.md, "Dispatch"): a play of 20
# weka_upgrade_path tasks (a module that runs no command and returns a small result: a few ms on
# its own), less the same play with no task, divided by 20; the median of RUNS runs per
# variant, the variants taking turns:
#   before     the action plugin of git revision BEFORE (default 396bd6a~1, the last before the
#              binary cache): ansible-core's transfer, the binary sent with every task
#   no-cache   this tree's plugin with keel_binary_cache=false (ansible-core's transfer)
#   cache      this tree's plugin, the binary cached on the target (a hit per task)
#   raw        20 `ansible.builtin.raw: "true"` tasks: what ansible-core costs for one command
# and the binary run directly with the same args, 20 times.
# Usage, after `cargo xtask collection`: tests/bench/dispatch.sh [RUNS] [BEFORE]
set -eu
runs=${1:-7}
before=${2:-396bd6a~1}
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${KEEL_BENCH_VENV:-$root/.venv/ansible-2.21}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(ls "$root"/dist/keel-storage-*.tar.gz)
"$venv/bin/ansible-galaxy" collection install -p "$work/now" "$tarball" >/dev/null
"$venv/bin/ansible-galaxy" collection install -p "$work/before" "$tarball" >/dev/null
git -C "$root" show "$before:collection/plugins/action/native_module.py" \
  >"$work/before/ansible_collections/keel/storage/plugins/action/native_module.py"

task='keel.storage.weka_upgrade_path: {from_version: 3.13.1, target_version: 4.0.2}'
args='{"_keel_module": "weka_upgrade_path", "from_version": "3.13.1", "target_version": "4.0.2"}'
for n in 0 20; do
  {
    echo "- name: Dispatch benchmark"
    echo "  hosts: local"
    echo "  gather_facts: false"
    [ "$n" -gt 0 ] && echo "  tasks:" || echo "  tasks: []"
    i=0
    while [ "$i" -lt "$n" ]; do
      echo "    - $task"
      i=$((i + 1))
    done
  } >"$work/play$n.yml"
done
sed "s/- $task/- ansible.builtin.raw: \"true\"/" "$work/play20.yml" >"$work/playraw.yml"

export ANSIBLE_CONFIG="$root/tests/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$work/tmp"
# play N COLLECTIONS EXTRA...: "WALL CPU" of one run, in ms (CPU: user and system time of
# ansible-playbook and everything it ran, steadier than wall time on a busy machine)
play() {
  n=$1 coll=$2
  shift 2
  ANSIBLE_COLLECTIONS_PATH=$coll /usr/bin/time -f '%e %U %S' -o "$work/time" "$venv/bin/ansible-playbook" \
    -i "$root/tests/playbooks/inventory.ini" "$work/play$n.yml" -e "ansible_remote_tmp=$work/remote" "$@" \
    >"$work/out" 2>&1 || {
    cat "$work/out" >&2
    exit 1
  }
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' "$work/time"
}
# median COLUMN: of the lines on stdin
median() { awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
per_task() { awk -v f="$1" -v e="$2" 'BEGIN { printf "%.1f", (f - e) / 20 }'; }

# Warm the cache and Python's caches once; the variants take turns, so a busy spell on the
# machine falls on all of them.
play 20 "$work/now" >/dev/null
variants="before no-cache cache raw"
for variant in $variants; do : >"$work/$variant.full" && : >"$work/$variant.empty"; done
r=0
while [ "$r" -lt "$runs" ]; do
  for variant in $variants; do
    coll=$work/now extra=keel_bench=1
    [ "$variant" = before ] && coll=$work/before
    [ "$variant" = no-cache ] && extra="keel_binary_cache=false"
    n=20
    [ "$variant" = raw ] && n=raw
    play "$n" "$coll" -e "$extra" >>"$work/$variant.full"
    play 0 "$coll" -e "$extra" >>"$work/$variant.empty"
  done
  r=$((r + 1))
done
printf '%-10s %20s %20s %24s\n' variant "20 tasks wall/cpu" "no task wall/cpu" "per task ms wall/cpu"
for variant in $variants; do
  fw=$(median 1 <"$work/$variant.full") fc=$(median 2 <"$work/$variant.full")
  ew=$(median 1 <"$work/$variant.empty") ec=$(median 2 <"$work/$variant.empty")
  printf '%-10s %20s %20s %24s\n' "$variant" "$fw/$fc" "$ew/$ec" "$(per_task "$fw" "$ew")/$(per_task "$fc" "$ec")"
done

bin=$work/now/ansible_collections/keel/storage/plugins/modules/__bin__/keel_weka_cluster_linux_x86_64
: >"$work/direct"
r=0
while [ "$r" -lt "$runs" ]; do
  /usr/bin/time -f '%e %U %S' -o "$work/time" sh -c '
    i=0
    while [ "$i" -lt 20 ]; do
      echo "$1" | "$2" --args-stdin >/dev/null
      i=$((i + 1))
    done' sh "$args" "$bin"
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' "$work/time" >>"$work/direct"
  r=$((r + 1))
done
dw=$(median 1 <"$work/direct") dc=$(median 2 <"$work/direct")
printf '%-10s %20s %20s %24s\n' direct "$dw/$dc" - "$(per_task "$dw" 0)/$(per_task "$dc" 0)"
