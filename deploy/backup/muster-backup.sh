#!/usr/bin/env bash
# Consistent backup of a Muster hub or node data directory.
#
#   muster-backup.sh hub  /var/lib/muster/hub  /backup/muster   [postgresql URL]
#   muster-backup.sh node /var/lib/muster/node /backup/muster
#
# What is copied: the store (SQLite online backup, or pg_dump), the raw bundles (hub),
# the configuration, the root anchor and the key directory. Keystores are
# encrypted under their passphrase and the node store under SQLCipher, so the copy holds
# no readable personal data or secret key; keep it on encrypted media all the same.
set -euo pipefail

kind=${1:?hub or node}
data=${2:?data directory}
target=${3:?backup directory}
db_url=${4:-}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$target/$kind-$stamp"
umask 077
mkdir -p "$dest"

copy_sqlite() {
    # The online backup API gives a consistent copy while the service runs.
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close(); src.close()
PY
}

case "$kind" in
hub)
    if [[ -n "$db_url" ]]; then
        pg_dump --format=custom --file="$dest/hub.pgdump" "${db_url/postgresql+psycopg/postgresql}"
    else
        copy_sqlite "$data/hub.db" "$dest/hub.db"
    fi
    # Raw bundles are immutable: an incremental copy is enough.
    rsync -a "$data/bundles/" "$target/bundles/"
    cp -a "$data/hub.toml" "$data/keys" "$dest/"
    [[ -d "$data/down" ]] && cp -a "$data/down" "$dest/"
    ;;
node)
    # The SQLCipher store (outbox, inbox and blobs live inside it) is copied as files, so
    # the node must be stopped: `systemctl stop muster-node` (a collection point is idle
    # at night). The copy stays encrypted under the store key in the keystore.
    if systemctl is-active --quiet muster-node 2>/dev/null; then
        echo "stop muster-node first: a running node's store cannot be copied consistently" >&2
        exit 1
    fi
    cp -a "$data/node.db" "$dest/"
    for f in node.db-wal node.db-shm; do [[ -f "$data/$f" ]] && cp -a "$data/$f" "$dest/"; done
    cp -a "$data/node.toml" "$data/anchor.json" "$data/keys" "$dest/"
    ;;
*)
    echo "usage: $0 hub|node DATA TARGET [POSTGRES_URL]" >&2
    exit 2
    ;;
esac

echo "backed up $kind $data to $dest"
