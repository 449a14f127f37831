#!/bin/sh
# keel-writer: runs on the testbed's client node and proves no data is lost during an upgrade.
#   keel-writer run MOUNT STATE      write checksummed files to MOUNT until STATE/stop appears (or
#                                    SIGTERM); a new run continues the manifest
#   keel-writer stop STATE           stop it and print how many files were written
#   keel-writer verify MOUNT STATE   every file in the manifest is present and intact
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
  echo "written $(wc -l < "$st/manifest") files, $(wc -l < "$st/errors") failed writes"
  ;;
verify)
  mnt=$2 st=$3
  total=$(wc -l < "$st/manifest")
  [ "$total" -gt 0 ] || { echo "nothing written"; exit 1; }
  if (cd "$mnt" && sha256sum -c --quiet "$st/manifest"); then
    echo "verified $total files"
  else
    echo "FAILED: files missing or damaged on $mnt"
    exit 1
  fi
  ;;
*)
  echo "usage: keel-writer run MOUNT STATE | stop STATE | verify MOUNT STATE" >&2
  exit 2
  ;;
esac
