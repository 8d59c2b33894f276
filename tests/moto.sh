#!/usr/bin/env bash
# tests/moto.sh start|stop PIDFILE
#   start: runs moto_server on a free 127.0.0.1 port with the settings deployer needs, waits until it
#          answers, writes its PID to PIDFILE and prints its URL.
#   stop:  stops exactly the process named in PIDFILE.
set -euo pipefail
cmd="${1:-}"; pidfile="${2:?usage: tests/moto.sh start|stop PIDFILE}"

case "$cmd" in
  start)
    command -v moto_server >/dev/null || { echo "moto_server is not on PATH: make tools installs it under target/" >&2; exit 2; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$(dirname "$pidfile")"
    # Managed policies exist only when loaded; certificates are ISSUED at once instead of after 60 s.
    # tools/moto_server.py is moto_server with AWS's behaviour where moto departs from it; python3 is the
    # venv's (moto_server's, first on PATH).
    MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=0 \
      nohup python3 "$(dirname "$0")/tools/moto_server.py" -H 127.0.0.1 -p "$port" >"$pidfile.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 400); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "http://127.0.0.1:$port"; exit 0
      fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "moto_server exited:" >&2; cat "$pidfile.log" >&2; exit 1; }
      sleep 0.05
    done
    echo "moto_server did not answer within 20 s" >&2; exit 1 ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile" ;;
  *) echo "usage: tests/moto.sh start|stop PIDFILE" >&2; exit 2 ;;
esac
