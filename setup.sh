#!/usr/bin/env bash
# Set up Steady on Debian, Ubuntu or Raspberry Pi OS, then start it.
#   ./setup.sh             install what is missing, fetch the speech model, start Steady
#   ./setup.sh --no-start  install only (CI, or to start later with .venv/bin/steady)
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"

start=1
[ "${1:-}" = "--no-start" ] && start=0

say() { printf '\033[1msteady setup:\033[0m %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# 1. System packages: the voice (espeak-ng) and the audio library (PortAudio).
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need+=(python3-venv); fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. A private Python environment with Steady in it.
if [ ! -x .venv/bin/python ]; then
  say "creating the Python environment in .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
say "installing Steady and its Python packages"
.venv/bin/python -m pip install -q -e '.[dev]'

# 3. The speech model (checked against pinned checksums).
.venv/bin/steady models fetch

if [ "$start" = 0 ]; then
  say "ready. Start Steady with: .venv/bin/steady"
  exit 0
fi

# 4. Start: hands-free if there is a microphone, otherwise a short spoken demo.
if .venv/bin/steady devices --has input >/dev/null 2>&1; then
  exec .venv/bin/steady listen
fi
say "no microphone found, so here is a short demo instead: a recording says 'I feel anxious' and Steady answers."
if .venv/bin/steady devices --has output >/dev/null 2>&1; then
  exec .venv/bin/steady run audio/demo-anxious.wav
fi
.venv/bin/steady run audio/demo-anxious.wav --out steady-demo-reply.wav
say "no speaker either: the spoken reply is in steady-demo-reply.wav"
