#!/bin/sh
# The instance's backup storage, with rclone (remote `backups`, configured by RCLONE_CONFIG_BACKUPS_* variables:
# the instance's bucket through its workload identity, or its backup volume). Backups are folders of BACKUP_ROOT.
#   storage.sh upload   the parts of $WORK/parts as backup $(cat $WORK/name), its manifest last; then the listing
#   storage.sh list     $WORK/listing.json: every file under BACKUP_ROOT (rclone lsjson)
#   storage.sh prune    deletes the backups named in $WORK/prune.txt
#   storage.sh fetch    backup $BACKUP_NAME (default: the newest complete one) into $BACKUP, its name in $WORK/name
set -eu
remote="backups:$BACKUP_ROOT"

list() {
  rclone lsjson --recursive --files-only "$remote" > "$WORK/listing.json"
}

upload() {
  name="$(cat "$WORK/name")"
  rclone copy "$WORK/parts" "$remote/$name" --exclude manifest.json
  # Written last: a backup without its manifest is one that did not finish.
  rclone copyto "$WORK/parts/manifest.json" "$remote/$name/manifest.json"
  echo "storage: backup $name uploaded to $remote"
  list
}

prune() {
  while read -r name; do
    [ -n "$name" ] || continue
    rclone purge "$remote/$name"
    echo "storage: retention deleted backup $name"
  done < "$WORK/prune.txt"
}

fetch() {
  name="${BACKUP_NAME:-}"
  if [ -z "$name" ]; then
    name="$(rclone lsf --recursive --files-only --include '/*/manifest.json' "$remote" \
      | sed -n 's#^\([0-9]\{8\}T[0-9]\{6\}Z\)/manifest.json$#\1#p' | sort | tail -n 1)"
    [ -n "$name" ] || { echo "storage: there is no complete backup in $remote" >&2; exit 1; }
  fi
  if ! found="$(rclone lsf "$remote/$name" 2> "$WORK/lsf.err")"; then
    # A missing folder is not an error of the storage; anything else (refused, unreachable) is said as it is.
    grep -q "directory not found" "$WORK/lsf.err" || { cat "$WORK/lsf.err" >&2; exit 1; }
  fi
  if [ -z "${found:-}" ]; then
    echo "storage: there is no backup $name in $remote" >&2
    exit 1
  fi
  rclone copy "$remote/$name" "$BACKUP"
  echo "$name" > "$WORK/name"
  echo "storage: fetched backup $name"
}

case "${1:-}" in
  upload | list | prune | fetch) "$1" ;;
  *) echo "usage: storage.sh upload|list|prune|fetch" >&2; exit 2 ;;
esac
