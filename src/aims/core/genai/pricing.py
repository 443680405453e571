"""The cost of a model call, from an offline price table.

The table ships with aims (``prices.yaml`` beside this module, list prices in
US dollars per million tokens) and a workspace overrides or extends it under
``traces.prices`` in ``aims.yaml``. Nothing is fetched at run time: a cost
computed today is the cost computed tomorrow, and a server without internet
access prices its spans like any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml

from aims.errors import ConfigError

__all__ = ["Price", "PriceTable", "builtin_prices", "model_key"]

_KINDS = ("input", "output", "cache_read", "cache_creation")
_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens of each kind (cache kinds default to the input price)."""

    input: float
    output: float
    cache_read: float | None = None
    cache_creation: float | None = None

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None = None,
        cache_creation: int | None = None,
    ) -> float:
        """Dollars for a call; ``input_tokens`` includes the cached ones, as the conventions say."""
        read = cache_read or 0
        created = cache_creation or 0
        fresh = max(0, (input_tokens or 0) - read - created)
        dollars = (
            fresh * self.input
            + read * (self.input if self.cache_read is None else self.cache_read)
            + created * (self.input if self.cache_creation is None else self.cache_creation)
            + (output_tokens or 0) * self.output
        )
        return dollars / _MILLION


def model_key(model: str) -> str:
    """A model name as the table keys it: lower case, no provider or path prefix.

    Examples
    --------
    >>> model_key("openai/GPT-4o-2024-08-06"), model_key("anthropic.claude-3-5-haiku-20241022-v1:0")
    ('gpt-4o-2024-08-06', 'claude-3-5-haiku-20241022-v1:0')
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    vendor, dot, rest = name.partition(".")
    # Cloud catalogues prefix the vendor ("anthropic.claude-..."); model
    # names themselves only have dots in version numbers ("gpt-4.1").
    if dot and vendor.isalpha() and rest[:1].isalpha():
        return rest
    return name


class PriceTable:
    """Prices by model name; a dated model name finds its undated entry.

    Examples
    --------
    >>> table = PriceTable({"gpt-4o": Price(2.5, 10.0), "gpt-4o-mini": Price(0.15, 0.6)})
    >>> table.find("gpt-4o-mini-2024-07-18").input
    0.15
    >>> round(table.cost("gpt-4o", 1000, 100), 6)
    0.0035
    >>> table.cost("unknown-model", 10, 10) is None
    True
    """

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {model_key(k): v for k, v in prices.items()}
        # Longest first, so "gpt-4o-mini-..." finds gpt-4o-mini before gpt-4o.
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._found: dict[str, Price | None] = {}

    def __len__(self) -> int:
        return len(self._prices)

    def find(self, model: str | None) -> Price | None:
        """The price of ``model``: its own entry, else the longest entry it extends."""
        if not model:
            return None
        if model in self._found:
            return self._found[model]
        key = model_key(model)
        price = self._prices.get(key)
        if price is None:
            for known in self._by_length:
                if key.startswith(known) and key[len(known)] in "-@:_":
                    price = self._prices[known]
                    break
        if len(self._found) < 10_000:  # model names come from callers: bound the memo
            self._found[model] = price
        return price

    def cost(
        self,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None = None,
        cache_creation: int | None = None,
    ) -> float | None:
        """Dollars for a call of ``model``, or None when its price or its token counts are unknown."""
        price = self.find(model)
        if price is None or (input_tokens is None and output_tokens is None):
            return None
        return price.cost(input_tokens, output_tokens, cache_read, cache_creation)

    def with_overrides(self, overrides: Mapping[str, Any], *, where: str) -> PriceTable:
        """This table with the entries of ``overrides`` (model -> kinds) added or replaced."""
        merged = dict(self._prices)
        merged.update(parse_prices(overrides, where=where))
        return PriceTable(merged)


def parse_prices(data: Any, *, where: str) -> dict[str, Price]:
    """Model -> :class:`Price` from a mapping of ``{model: {input:, output:, ...}}``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must map model names to prices, got {type(data).__name__}")
    out: dict[str, Price] = {}
    for model, entry in data.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}.{model} must be a mapping like {{input: 2.5, output: 10}}")
        unknown = set(entry) - set(_KINDS)
        if unknown:
            raise ConfigError(
                f"{where}.{model}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                f"prices are {', '.join(_KINDS)} (dollars per million tokens)"
            )
        values: dict[str, float | None] = {}
        for kind in _KINDS:
            value = entry.get(kind)
            if value is None and kind in ("input", "output"):
                raise ConfigError(f"{where}.{model}: '{kind}' is required (dollars per million)")
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(
                    f"{where}.{model}.{kind} must be a number of dollars >= 0, not {value!r}"
                )
            values[kind] = None if value is None else float(value)
        out[str(model)] = Price(
            values["input"] or 0.0,
            values["output"] or 0.0,
            values["cache_read"],
            values["cache_creation"],
        )
    return out


_BUILTIN: PriceTable | None = None


def builtin_prices() -> PriceTable:
    """The price table shipped with aims (read once)."""
    global _BUILTIN
    if _BUILTIN is None:
        text = files("aims.core.genai").joinpath("prices.yaml").read_text(encoding="utf-8")
        _BUILTIN = PriceTable(parse_prices(yaml.safe_load(text)["models"], where="prices.yaml"))
    return _BUILTIN
