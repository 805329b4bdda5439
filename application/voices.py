"""Which locales and voices the configured TTS providers offer (API §3.12, §9.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.ports import TtsGateway
from domain.audio import LocaleVoices, resolve_locale, restrict_locales
from domain.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    """The provider, its locale entry and the voice an item's audio will use."""

    provider: str
    locale: LocaleVoices
    voice: str


class VoiceCatalogue:
    """The primary provider, then the optional fallback, each restricted by supported languages."""

    def __init__(self, *, gateways: Sequence[TtsGateway], supported: Sequence[str]) -> None:
        self._gateways = list(gateways)
        self._supported = list(supported)

    @property
    def primary(self) -> TtsGateway:
        return self._gateways[0]

    @property
    def gateways(self) -> list[TtsGateway]:
        return list(self._gateways)

    def gateway(self, provider: str) -> TtsGateway | None:
        return next((g for g in self._gateways if g.name == provider), None)

    def offered(self, gateway: TtsGateway) -> list[LocaleVoices]:
        """The provider's locales in its own order (resolution rule 3 depends on it)."""
        return restrict_locales(gateway.locales(), self._supported)

    def listing(self, gateway: TtsGateway) -> list[LocaleVoices]:
        """The offered locales sorted case-insensitively, as clients see them."""
        return sorted(self.offered(gateway), key=lambda e: (e.locale.casefold(), e.locale))

    def resolve_on(self, gateway: TtsGateway, locale: str) -> LocaleVoices | None:
        return resolve_locale(self.offered(gateway), locale)

    def choose(self, locale: str, voice: str | None = None, key: str = "locale") -> VoiceChoice:
        """Resolve an item locale on the first provider that speaks it, or raise a 422 problem."""
        for gateway in self._gateways:
            entry = self.resolve_on(gateway, locale)
            if entry is not None:
                chosen = voice if voice is not None and entry.offers(voice) else entry.default_voice
                return VoiceChoice(gateway.name, entry, chosen)
        raise self.unsupported(locale, key)

    def unsupported(self, locale: str, key: str = "locale") -> InvalidInputError:
        """The 422 problem for a locale the configured provider cannot speak (API §3.2)."""
        primary = self.primary
        listed = ", ".join(e.locale for e in self.listing(primary))
        return InvalidInputError.field(
            key,
            f"Locale '{locale}' is not supported by TTS provider '{primary.name}'. "
            f"Supported locales: {listed}",
        )
