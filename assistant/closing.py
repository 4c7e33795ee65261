"""One small mixin: engines that hold a device, file or process close in ``with`` blocks."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_Self = TypeVar("_Self", bound="Closing")


class Closing:
    """``with engine: ...`` calls :meth:`close` on the way out, error or not."""

    def close(self) -> None:
        """Release what the engine holds. The default holds nothing."""

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
