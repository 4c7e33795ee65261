#!/usr/bin/env bash
# Run Steady's whole test suite: lint, types, data validation and pytest, with the
# real speech model, real espeak-ng and a real (PulseAudio null-sink) audio device.
# Installs the test-only system packages it needs if they are missing.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
for pair in pulseaudio:pulseaudio pactl:pulseaudio-utils flite:flite text2wave:festival sox:sox; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -e /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so ] \
  || [ -e /usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so ] \
  || need+=(libasound2-plugins)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m assistant.validate
exec .venv/bin/python -m pytest "$@"
