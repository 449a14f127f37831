#!/bin/sh
# keel-writer: runs on the testbed's client node and proves no data is lost during an upgrade.
#   keel-writer run MOUNT STATE      write checksummed files to MOUNT until STATE/stop appears (or
#                                    SIGTERM); a new run continues the manifest
#   keel-writer stop STATE           stop it; print {"written": N, "failed_writes": N} (one JSON line)
#   keel-writer verify MOUNT STATE   every file in the manifest is present and intact; print
#                                    {"verified": N, "lost": N} (one JSON line; exit 1 when lost > 0)
# The manifest lives on the client's own disk (STATE), never on the volume under test.
set -u
case "${1:-}" in
run)
  mnt=$2 st=$3
  mkdir -p "$st" "$mnt/keel-writer"
  rm -f "$st/stop"
  echo $$ > "$st/pid"
  # A restart (the client upgrade stops and starts the writer) continues the same manifest.
  [ -f "$st/manifest" ] || : > "$st/manifest"
  [ -f "$st/errors" ] || : > "$st/errors"
  i=$(( $(wc -l < "$st/manifest") + $(wc -l < "$st/errors") ))
  while [ ! -f "$st/stop" ]; do
    i=$((i + 1))
    f="keel-writer/f$i"
    head -c $(( (i % 64 + 1) * 1024 )) /dev/urandom > "$st/next"
    # Only a write the volume acknowledged (and flushed) enters the manifest.
    if cp "$st/next" "$mnt/$f" && sync "$mnt/$f" 2>/dev/null; then
      (cd "$st" && sha256sum next | sed "s| next\$| $f|") >> "$st/manifest"
    else
      echo "$f" >> "$st/errors"
    fi
    sleep 0.2
  done
  rm -f "$st/pid"
  ;;
stop)
  st=$2
  touch "$st/stop"
  n=0
  while [ -f "$st/pid" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  printf '{"written": %d, "failed_writes": %d}\n' "$(wc -l < "$st/manifest")" "$(wc -l < "$st/errors")"
  ;;
verify)
  mnt=$2 st=$3
  total=$(wc -l < "$st/manifest")
  # sha256sum -c prints one "NAME: FAILED..." line per file missing or damaged.
  if [ -d "$mnt/keel-writer" ]; then
    lost=$(cd "$mnt" && sha256sum -c --quiet "$st/manifest" 2>/dev/null | grep -c ': FAILED')
  else
    lost=$total
  fi
  printf '{"verified": %d, "lost": %d}\n' "$((total - lost))" "$lost"
  [ "$lost" -eq 0 ] && [ "$total" -gt 0 ]
  ;;
*)
  echo "usage: keel-writer run MOUNT STATE | stop STATE | verify MOUNT STATE" >&2
  exit 2
  ;;
esac
