#!/usr/bin/env bash
# tests/tools/install.sh TOOLS_DIR
# Installs what the tests need besides Rust, so that `make test` and `make demo` work on a fresh clone:
# - moto, the aws CLI and uv (tests/tools/requirements.txt) into a Python venv at TOOLS_DIR/venv, reused
#   while the requirements file is unchanged;
# - Apache Velocity 1.7 and a JDK (the engine of API Gateway's mapping templates), from Debian's packages
#   when running as root on Debian; elsewhere it says how, and the tests that need them fail saying so.
set -euo pipefail
tools="${1:?usage: tests/tools/install.sh TOOLS_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
venv="$tools/venv"
stamp="$venv/.installed"

if ! [ -f "$stamp" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
  command -v python3 >/dev/null || { echo "python3 is needed (3.9 or later): install Python, then run make again" >&2; exit 2; }
  echo "installing moto, the aws CLI and uv into $venv (once, about 2 minutes)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv" >&2; exit 2; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

velocity_jar=/usr/share/java/velocity.jar
if ! [ -f "$velocity_jar" ] || ! command -v javac >/dev/null; then
  how="apt-get install velocity default-jdk-headless"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Apache Velocity and a JDK: $how" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq velocity default-jdk-headless >/dev/null
  else
    echo "note: the mapping-template tests need Apache Velocity 1.7 and a JDK, and will fail without them: sudo $how" >&2
  fi
fi

# Headless Chromium opens the frontend `deployer dev` serves (tests/it/dev.rs), as a browser would.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Chromium (headless browser tests): apt-get install chromium" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: the browser test of deployer dev needs Chromium, and will fail without it: sudo apt-get install chromium" >&2
  fi
fi
