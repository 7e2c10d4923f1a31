"""Readers of CAD exports: each streams a file into records named like the ``properties`` columns.

A format is a container (a JSON array inside an object, a CSV file) plus a *mapping* from our
field names to the export's own. ``tad-json`` is the Tarrant Appraisal District export with a
built-in mapping; ``csv`` takes the mapping from a YAML file, so an operator can load another
county's export without code (docs/enricher.md shows one). Both read the file incrementally:
memory stays constant whatever its size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

import ijson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.messages import describe_validation_error


class CadFormatError(ValueError):
    """The file or the mapping cannot be read at all (as opposed to one bad record)."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One account as read, before validation; ``problem`` when it could not even be read."""

    position: str  # where it is in the file: "line 12", "parcels[11]"
    fields: dict[str, Any]  # CadRecord field → value as written in the export
    problem: str | None = None


CadReader = Callable[[BinaryIO], Iterator[SourceRecord]]

TextField = Literal[
    "account_id",
    "parcel_id",
    "situs_address",
    "situs_city",
    "situs_zip",
    "owner_name",
    "owner_mailing_address",
    "owner_mailing_city",
    "owner_mailing_state",
    "owner_mailing_zip",
    "land_use",
]
ValueField = Literal["market_value", "homestead", "year_built", "living_area"]
TEXT_FIELDS = frozenset(get_args(TextField))


class FieldMapping(BaseModel):
    """Which export column holds each of our fields.

    A list of columns is allowed for text fields and joined with single spaces (CADs often split
    the situs into number, street and unit columns).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[TextField | ValueField, str | list[str]]
    homestead_true: list[str] = Field(
        default_factory=list, description="Values meaning 'has a homestead exemption'."
    )
    homestead_false: list[str] = Field(default_factory=list)

    @field_validator("columns")
    @classmethod
    def _account_and_joins(cls, columns: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        if "account_id" not in columns:
            raise ValueError("account_id must be mapped: it identifies the account")
        for field, source in columns.items():
            if isinstance(source, list) and (field not in TEXT_FIELDS or not source):
                raise ValueError(f"{field}: only text fields may join several columns")
        return columns

    def sources(self) -> set[str]:
        names: set[str] = set()
        for source in self.columns.values():
            names.update([source] if isinstance(source, str) else source)
        return names

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for field, source in self.columns.items():
            if isinstance(source, str):
                fields[field] = row.get(source)
            else:
                parts = (str(row.get(name) or "").strip() for name in source)
                fields[field] = " ".join(part for part in parts if part)
        if "homestead" in fields:
            fields["homestead"] = self._homestead(fields["homestead"])
        return fields

    def _homestead(self, value: Any) -> Any:
        text = str(value).strip().upper() if value is not None else ""
        if not text:
            return None
        if text in (v.upper() for v in self.homestead_true):
            return True
        if text in (v.upper() for v in self.homestead_false):
            return False
        return value  # yes/no/true/false/1/0 pass validation as they are; others are rejected


class CsvMapping(FieldMapping):
    """A ``--mapping`` file of the ``csv`` format."""

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"


def load_csv_mapping(path: Path) -> CsvMapping:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CadFormatError(f"cannot read mapping {path}: {exc}") from exc
    try:
        return CsvMapping.model_validate(document)
    except ValidationError as exc:
        raise CadFormatError(f"mapping {path}: {describe_validation_error(exc)}") from exc


def csv_reader(mapping: CsvMapping) -> CadReader:
    def read(stream: BinaryIO) -> Iterator[SourceRecord]:
        text = io.TextIOWrapper(stream, encoding=mapping.encoding, newline="")
        rows = csv.DictReader(text, delimiter=mapping.delimiter)
        missing = mapping.sources() - set(rows.fieldnames or [])
        if missing:
            raise CadFormatError(
                f"columns named in the mapping are not in the file's header: {sorted(missing)}"
            )
        for row in rows:
            position = f"line {rows.line_num}"
            if None in row or None in row.values():
                yield SourceRecord(position, {}, "row has more or fewer fields than the header")
            else:
                yield SourceRecord(position, mapping.apply(row))

    return read


# The Tarrant Appraisal District residential roll, as an object with ``parcels[]``. It has no
# homestead flag, land-use class, owner mailing city/ZIP or situs ZIP; those stay unknown.
TAD_MAPPING = FieldMapping(
    columns={
        "account_id": "account_num",
        "parcel_id": "gis_link",
        "situs_address": "situs_address",
        "situs_city": "city_name",
        "owner_name": "owner_name",
        "owner_mailing_address": "owner_address",
        "market_value": "total_value",
        "year_built": "year_built",
        "living_area": "living_area",
    }
)


def read_tad_json(stream: BinaryIO) -> Iterator[SourceRecord]:
    try:
        for index, item in enumerate(ijson.items(stream, "parcels.item", use_float=True)):
            position = f"parcels[{index}]"
            if isinstance(item, dict):
                yield SourceRecord(position, TAD_MAPPING.apply(item))
            else:
                yield SourceRecord(position, {}, "parcel is not a JSON object")
    except ijson.JSONError as exc:
        raise CadFormatError(f"not valid JSON: {exc}") from exc


FORMATS = ("tad-json", "csv")


def reader_for(format_name: str, mapping_path: Path | None) -> CadReader:
    if format_name == "tad-json":
        if mapping_path is not None:
            raise CadFormatError("tad-json has a built-in mapping; --mapping is for csv")
        return read_tad_json
    if format_name == "csv":
        if mapping_path is None:
            raise CadFormatError("csv needs --mapping FILE (see docs/enricher.md)")
        return csv_reader(load_csv_mapping(mapping_path))
    raise CadFormatError(f"unknown format {format_name!r}; expected one of {', '.join(FORMATS)}")
