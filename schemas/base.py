"""Shared building blocks of every topic model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Bumped only for a breaking change of any topic; consumers reject versions they do not know.
SCHEMA_VERSION: Literal[1] = 1


class _Text:
    """Marks a text field whose value is checked once per model, after validation (see
    ``Message._texts``): a NUL is refused and, for optional text, blank means missing."""

    def __init__(self, optional: bool) -> None:
        self.optional = optional


# Text stripped of surrounding whitespace (by pydantic-core, before any length limit).
_Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]
# A required identifier: stripped, no NUL.
Identifier = Annotated[_Stripped, _Text(optional=False)]
# An optional free-text field: stripped, no NUL, and blank means missing.
OptionalText = Annotated[_Stripped | None, _Text(optional=True)]
# An optional code such as a USPS state: as OptionalText, and upper case.
OptionalCode = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)] | None,
    _Text(optional=True),
]


# ------------------------------------------------------------------------ dates and times
#
# Every date and time in a topic contract lies in one window, 1900-01-01 .. 2100-12-31 (UTC
# for times; a time without offset is taken as UTC, as the store does).
#
# - Wide enough for every real value: digitised permit records start in the 20th century, a
#   replayed export of 2015 or a retry due next week are well inside, and the window ends
#   75 years from now, so no contract change is due in any service's lifetime.
# - Narrow enough that every time converts to UTC: Python's calendar stops at years 1 and
#   9999, and a time such as 0001-01-01T00:00+05:00 (or 9999-12-31T23:59-23:59) passes a
#   datetime parser yet leaves the calendar when the store converts it (OverflowError). Such
#   values, and dates like 01/01/0001 or 12/31/9999 that portals use for "unknown" or
#   "never", are scraper bugs: refusing them at the first stage dead-letters the permit
#   once, with the reason, instead of failing some later stage.
# - Offsets are not limited: any offset Python accepts (up to ±23:59) is kept as written and
#   only the instant it denotes must lie in the window.
#
# A scrape time has one more bound: no later than now + SCRAPE_CLOCK_SKEW. ``scraped_at`` is
# the permit's version, and the store keeps the newest version, so a scrape time in 2090
# would win over every real scrape for 64 years. The bound is checked against the clock of
# whichever stage decodes the permit (it is embedded in every downstream topic); the clock
# only moves forward, so a permit accepted by one stage is accepted by every later one, and
# replaying stored or dead-lettered messages never refuses a time that was accepted before.
# The lower bounds are fixed dates, never "now minus something", for the same reason.

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
EARLIEST_TIME = datetime.combine(EARLIEST_DATE, datetime.min.time(), tzinfo=UTC)
LATEST_TIME = datetime.combine(LATEST_DATE, datetime.max.time(), tzinfo=UTC)
# How far a scraper's clock may run ahead of ours (time zones mixed up, clocks unsynchronised).
SCRAPE_CLOCK_SKEW = timedelta(days=1)

_WINDOW = f"{EARLIEST_DATE}..{LATEST_DATE}"


def utc_now() -> datetime:
    """The clock a scrape time must not be ahead of (a module attribute, so tests can set it)."""
    return datetime.now(UTC)


def _in_window_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "{value} is outside {window}; the portal's placeholder or a scraper bug",
            {"value": value.isoformat(), "window": _WINDOW},
        )
    return value


def _instant(value: datetime) -> datetime:
    """Aware, for comparing; never converted: comparing cannot overflow, converting can."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _in_window_time(value: datetime) -> datetime:
    if not EARLIEST_TIME <= _instant(value) <= LATEST_TIME:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "{value} is outside {window} (UTC); a scraper bug or a broken clock",
            {"value": value.isoformat(), "window": _WINDOW},
        )
    return value


def _not_in_the_future(value: datetime) -> datetime:
    now = utc_now()
    if _instant(value) > now + SCRAPE_CLOCK_SKEW:
        raise PydanticCustomError(
            "datetime_in_future",
            "{value} is in the future (now is {now}, and a scraper's clock may be at most "
            "{skew} ahead); it would outrank every real scrape of this permit: fix the "
            "scraper's clock and publish again",
            {"value": value.isoformat(), "now": now.isoformat(), "skew": "1 day"},
        )
    return value


_DATE_SCHEMA = {
    "formatMinimum": EARLIEST_DATE.isoformat(),
    "formatMaximum": LATEST_DATE.isoformat(),
}
_TIME_SCHEMA = {
    "formatMinimum": f"{EARLIEST_DATE}T00:00:00Z",
    "formatMaximum": f"{LATEST_DATE}T23:59:59.999999Z",
}

# A calendar date in a topic contract: 1900-01-01 .. 2100-12-31.
BoundedDate = Annotated[
    date, AfterValidator(_in_window_date), Field(json_schema_extra=_DATE_SCHEMA)
]
# A time in a topic contract: within 1900-01-01 .. 2100-12-31 in UTC, any offset.
BoundedTime = Annotated[
    datetime, AfterValidator(_in_window_time), Field(json_schema_extra=_TIME_SCHEMA)
]
# When a scraper read a portal: a bounded time no later than now + SCRAPE_CLOCK_SKEW.
ScrapeTime = Annotated[BoundedTime, AfterValidator(_not_in_the_future)]


class _Strict(BaseModel):
    """Refuses a model with text fields that does not check them (see ``TextChecked``)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        texts = [n for n, info in cls.model_fields.items() if _text_mark(info.metadata)]
        if texts and not issubclass(cls, TextChecked):
            raise TypeError(f"{cls.__name__} has text fields {texts}: derive it from TextChecked")


def _text_mark(metadata: list[Any]) -> _Text | None:
    return next((m for m in metadata if isinstance(m, _Text)), None)


class TextChecked(BaseModel):
    """Checks a model's text fields in one pass after validation. One Python call per model
    instead of one per field: decoding is most of what a stage spends on a message, and
    eighteen per-field validators were half of decoding a permit. Only models with text fields
    derive from it, so the others pay nothing."""

    # The text fields of the class, and the optional ones among them; set per class.
    __text_fields__: ClassVar[tuple[str, ...]] = ()
    __optional_texts__: ClassVar[frozenset[str]] = frozenset()
    __read_texts__: ClassVar[itemgetter[Any] | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        marks = [
            (name, mark)
            for name, info in cls.model_fields.items()
            if (mark := _text_mark(info.metadata)) is not None
        ]
        cls.__text_fields__ = names = tuple(name for name, _ in marks)
        cls.__optional_texts__ = frozenset(name for name, mark in marks if mark.optional)
        # Every text value as a tuple in one C call, however many fields there are (a lone
        # field is read twice so that the getter still returns a tuple).
        cls.__read_texts__ = itemgetter(*names, *names) if len(names) == 1 else itemgetter(*names)

    @model_validator(mode="after")
    def _texts(self) -> Any:
        values = self.__dict__
        read_texts = self.__read_texts__
        assert read_texts is not None
        texts = read_texts(values)
        if "" in texts:
            for name in self.__optional_texts__:
                if values[name] == "":
                    values[name] = None  # frozen: set before anyone can see the model
        if "\x00" in "".join(filter(None, texts)):
            name = next(n for n in self.__text_fields__ if "\x00" in (values[n] or ""))
            raise PydanticCustomError(
                "nul_character",
                "{field} contains a NUL (0x00) character; fix the scraper and replay",
                {"field": name},
            )
        return self


class Message(_Strict):
    """Base of every topic model: strict about unknown fields so typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_version: Literal[1] = SCHEMA_VERSION


class Part(_Strict):
    """Base of a section nested inside a topic model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def permit_key(jurisdiction: str, permit_number: str) -> str:
    """The identity of a permit and the Kafka message key on every topic."""
    return f"{jurisdiction}:{permit_number}"
