"""Errors a person can act on.

Every error Steady raises on purpose derives from :class:`SteadyError`. The command
line prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``;
it never shows a traceback for these. Messages are one sentence that says what to do.
"""

from __future__ import annotations


class SteadyError(Exception):
    """Base class: a problem the person can fix, reported in one sentence."""

    exit_code = 1


class UsageError(SteadyError):
    """The command line or an argument was wrong."""

    exit_code = 2


class ModelError(SteadyError):
    """The speech model is missing, broken, or could not be installed."""

    exit_code = 3


class AudioFileError(SteadyError):
    """An audio file could not be read or written."""

    exit_code = 4


class AudioDeviceError(SteadyError):
    """No usable microphone or speaker, or the device failed."""

    exit_code = 5


class DataFileError(SteadyError):
    """A data file (intents, replies, exercises, locale) is malformed.

    The message names the file and the field so the person can fix it.
    """

    exit_code = 6


class SpeechEngineError(SteadyError):
    """The text-to-speech engine is missing or failed."""

    exit_code = 7


class StorageError(SteadyError):
    """The private data store could not be opened or written."""

    exit_code = 8
