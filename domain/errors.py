"""The domain's error tree. The HTTP edge maps each class to a status in one table."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error the use cases raise on purpose; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    pass


class ItemNotFoundError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Item not found")


class AttemptNotFoundError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Attempt not found")


class TagNotFoundError(NotFoundError):
    def __init__(self, tag_id: int) -> None:
        super().__init__(f"Tag with ID {tag_id} not found")


class ConflictError(DomainError):
    pass


class TagAlreadyExistsError(ConflictError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Tag with name '{name}' already exists")


class BadRequestError(DomainError):
    """A well-formed request the rules refuse (400), e.g. an inverted time window."""


class InvalidWindowError(BadRequestError):
    def __init__(self) -> None:
        super().__init__("'since' must not be after 'until'")


class AudioNotReadyError(BadRequestError):
    def __init__(self, status: str) -> None:
        super().__init__(f"Audio not ready. Current status: {status}")


class AudioFileMissingError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Audio file not found")


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid value: `key` is the field path (`text`, `items[3].locale`), `""` = whole body."""

    key: str
    message: str


class InvalidInputError(DomainError):
    """Input that breaks a domain rule; answered as 422 with the field named."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("Validation failed")
        self.problems = problems

    @classmethod
    def field(cls, key: str, message: str) -> InvalidInputError:
        return cls(Problem(key, message))

    def prefixed(self, prefix: str) -> InvalidInputError:
        """The same problems under a parent path, e.g. `items[3].`."""
        return InvalidInputError(*(Problem(prefix + p.key, p.message) for p in self.problems))


class TtsError(DomainError):
    """A TTS engine refused or failed; `message` never contains credentials."""


class TransientTtsError(TtsError):
    """Worth retrying: timeouts, network errors, 429/5xx, engine briefly unavailable."""


class PermanentTtsError(TtsError):
    """Retrying cannot help: bad input, auth rejected, unsupported locale, invalid output."""
