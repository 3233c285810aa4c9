#!/usr/bin/env bash
# Starts ClamAV's clamd on 127.0.0.1:PORT with a local signature database that knows EICAR (the
# standard harmless test file), for the upload-scanning tests. No signatures can be downloaded here;
# production runs freshclam instead. Usage: .ci/start-clamd.sh DIR [PORT]; stop: kill $(cat DIR/clamd.pid).
# Installs clamav + clamav-daemon from Debian when missing (a warm machine skips it).
set -euo pipefail

DIR=${1:?usage: start-clamd.sh DIR [PORT]}
PORT=${2:-3310}

if ! command -v clamd >/dev/null 2>&1 && [[ ! -x /usr/sbin/clamd ]]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y clamav clamav-daemon
fi
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)

mkdir -p "$DIR/db"
DIR=$(cd "$DIR" && pwd)
# The EICAR string, written from two halves so this script is not itself flagged by a scanner.
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$DIR/eicar.com"
(cd "$DIR" && sigtool --md5 eicar.com >"$DIR/db/local.hdb")
rm -f "$DIR/eicar.com"

cat >"$DIR/clamd.conf" <<CONF
DatabaseDirectory $DIR/db
TCPSocket $PORT
TCPAddr 127.0.0.1
Foreground yes
ScanArchive yes
PidFile $DIR/clamd.pid
LogFile $DIR/clamd.log
StreamMaxLength 110M
MaxFileSize 110M
MaxScanSize 400M
User root
CONF

if [[ -f "$DIR/clamd.pid" ]] && kill -0 "$(cat "$DIR/clamd.pid")" 2>/dev/null; then
  echo "clamd already running (pid $(cat "$DIR/clamd.pid"))"
else
  setsid "$CLAMD" -c "$DIR/clamd.conf" >"$DIR/clamd.out" 2>&1 </dev/null &
  echo $! >"$DIR/clamd.pid"
fi

# Ready when it answers PING with PONG (it loads the database first: a few seconds).
for ((i = 0; i < 120; i++)); do
  if reply=$(node -e "
    const s = require('node:net').connect($PORT, '127.0.0.1', () => s.write('zPING\0'))
    let r = ''; s.on('data', (d) => (r += d)); s.on('close', () => { console.log(r.replace(/\0/g, '')); process.exit(r.startsWith('PONG') ? 0 : 1) })
    s.on('error', () => process.exit(1))
  " 2>/dev/null); then
    echo "clamd ready on tcp://127.0.0.1:$PORT ($reply)"
    exit 0
  fi
  sleep 0.5
done
echo "clamd did not answer PING within 60 s; its output:" >&2
cat "$DIR/clamd.out" "$DIR/clamd.log" >&2 2>/dev/null || true
exit 1
