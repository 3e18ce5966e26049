#!/bin/sh
# The instance's media volume (mounted at $MEDIA), when its media are not in object storage:
#   media.sh dump      $WORK/parts/media.tar.gz
#   media.sh restore   $BACKUP/media.tar.gz in place of the volume's content
set -eu
case "${1:-}" in
  dump)
    mkdir -p "$WORK/parts"
    tar -C "$MEDIA" -czf "$WORK/parts/media.tar.gz" .
    echo "media: archived $(find "$MEDIA" -type f | wc -l) files"
    ;;
  restore)
    if [ ! -f "$BACKUP/media.tar.gz" ]; then echo "media: the backup holds no media: left as they are"; exit 0; fi
    find "$MEDIA" -mindepth 1 -delete
    tar -C "$MEDIA" -xzf "$BACKUP/media.tar.gz"
    echo "media: restored $(find "$MEDIA" -type f | wc -l) files"
    ;;
  *) echo "usage: media.sh dump|restore" >&2; exit 2 ;;
esac
