"""Sound devices: listing them for ``steady devices`` and resolving ``--device`` choices.

``sounddevice`` (and the PortAudio library under it) is imported lazily, inside the
functions that need it, so every other part of Steady keeps working on a machine with
no audio stack at all. :func:`import_sounddevice` turns a missing library into a
one-sentence :class:`~assistant.errors.AudioDeviceError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from assistant.errors import AudioDeviceError

logger = logging.getLogger(__name__)

DeviceKind = Literal["input", "output"]

NO_MICROPHONE = (
    "No microphone found; plug one in, pick one with --device (see `steady devices`), "
    "or try `steady run FILE.wav`."
)
NO_SPEAKER = (
    "No speaker found; plug one in, pick one with --device (see `steady devices`), "
    "or use --out FILE.wav to write what Steady says to a file."
)
PORTAUDIO_MISSING = "PortAudio is not installed; run `sudo apt install libportaudio2`."
SOUNDDEVICE_MISSING = "The sounddevice package is not installed; run `pip install sounddevice`."


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as ``steady devices`` shows it."""

    index: int
    """PortAudio device number (what ``--device 3`` refers to)."""
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool
    hostapi: str = ""
    """Host API name, e.g. ``ALSA``."""

    def has(self, kind: DeviceKind) -> bool:
        """Whether the device can record (``input``) or play (``output``)."""
        channels = self.max_input_channels if kind == "input" else self.max_output_channels
        return channels > 0


def import_sounddevice() -> ModuleType:
    """Import ``sounddevice``, mapping a missing PortAudio or package to AudioDeviceError."""
    try:
        import sounddevice as sd
    except OSError:  # raised by sounddevice when libportaudio cannot be loaded
        raise AudioDeviceError(PORTAUDIO_MISSING) from None
    except ImportError:
        raise AudioDeviceError(SOUNDDEVICE_MISSING) from None
    module: ModuleType = sd
    return module


def one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one line (PortAudio messages may wrap)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def kind_noun(kind: DeviceKind) -> str:
    """``microphone`` or ``speaker``: what a person calls an input/output device."""
    return "microphone" if kind == "input" else "speaker"


def _default_index(sd: ModuleType, kind: DeviceKind) -> int:
    """The default device number for ``kind``, or -1 when there is none."""
    try:
        info: Any = sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        return -1
    return int(info["index"]) if info else -1


def list_devices() -> list[DeviceInfo]:
    """All devices PortAudio knows, with the current defaults marked."""
    sd = import_sounddevice()
    try:
        raw: Any = sd.query_devices()
        hostapis: Any = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioDeviceError(
            f"Could not list sound devices ({one_line(exc)}); check that PortAudio works."
        ) from None
    default_in = _default_index(sd, "input")
    default_out = _default_index(sd, "output")
    devices = []
    for entry in raw:
        index = int(entry["index"])
        hostapi_index = int(entry.get("hostapi", -1))
        hostapi = ""
        if 0 <= hostapi_index < len(hostapis):
            hostapi = str(hostapis[hostapi_index]["name"])
        devices.append(
            DeviceInfo(
                index=index,
                name=str(entry["name"]),
                max_input_channels=int(entry["max_input_channels"]),
                max_output_channels=int(entry["max_output_channels"]),
                default_samplerate=float(entry["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
                hostapi=hostapi,
            )
        )
    return devices


def format_devices(devices: list[DeviceInfo]) -> str:
    """A readable table of ``devices`` for ``steady devices``."""
    if not devices:
        return "No sound devices found."
    headers = ("#", "name", "in", "out", "rate", "default")
    rows = []
    for d in devices:
        defaults = []
        if d.is_default_input:
            defaults.append("input")
        if d.is_default_output:
            defaults.append("output")
        name = f"{d.name} ({d.hostapi})" if d.hostapi else d.name
        rows.append(
            (
                str(d.index),
                name,
                str(d.max_input_channels),
                str(d.max_output_channels),
                f"{d.default_samplerate:g}",
                ", ".join(defaults),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = {0, 2, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(tuple("-" * w for w in widths))]
    out.extend(line(r) for r in rows)
    out.append("")
    out.append("Choose one with --device NUMBER or --device NAME (part of the name is enough).")
    return "\n".join(out)


def find_device(spec: str | int | None, kind: DeviceKind) -> int | None:
    """Resolve a ``--device`` value to a PortAudio device number.

    ``None`` (or an empty string) means the system default and returns ``None`` after
    checking that at least one device of that kind exists. An int, or a string of
    digits, is a device number. Any other string matches a device name: an exact
    (case-insensitive) name wins, otherwise it must be part of exactly one name.
    """
    noun = kind_noun(kind)
    devices = list_devices()
    usable = [d for d in devices if d.has(kind)]
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        if not usable:
            raise AudioDeviceError(NO_MICROPHONE if kind == "input" else NO_SPEAKER)
        return None
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        match = next((d for d in devices if d.index == index), None)
        if match is None:
            raise AudioDeviceError(
                f"There is no sound device number {index}; see `steady devices` for the list."
            )
        if not match.has(kind):
            raise AudioDeviceError(
                f"Device {index} ({match.name}) cannot be used as a {noun}; "
                "pick another from `steady devices`."
            )
        return index
    wanted = spec.strip().casefold()
    exact = [d for d in usable if d.name.casefold() == wanted]
    if exact:
        return exact[0].index
    partial = [d for d in usable if wanted in d.name.casefold()]
    if len(partial) == 1:
        logger.debug(
            "%s %r resolved to device %d (%s)", noun, spec, partial[0].index, partial[0].name
        )
        return partial[0].index
    if not partial:
        raise AudioDeviceError(
            f"No {noun} has {spec!r} in its name; see `steady devices` for the list."
        )
    names = ", ".join(f"{d.index} ({d.name})" for d in partial)
    raise AudioDeviceError(
        f"Several {noun}s match {spec!r}: {names}; use the device number instead."
    )


def device_label(spec: str | int | None, index: int | None, kind: DeviceKind) -> str:
    """How messages name a device: "the default microphone", "the speaker 'usb' (#3)"."""
    noun = kind_noun(kind)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return f"the default {noun}"
    return f"the {noun} {spec!r}" if index is None else f"the {noun} {spec!r} (#{index})"
