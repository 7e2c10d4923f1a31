"""Address normalisation: the spellings portals use reach the CAD's spelling, nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.enricher.address import normalize_address, normalize_city
from tests.enricher.portal_forms import other_house_number, portal_forms, tarrant_situs


def full(text: str) -> str | None:
    normalized = normalize_address(text)
    return normalized.full if normalized else None


@pytest.mark.parametrize(
    ("portal", "cad"),
    [
        # case, punctuation, spaces
        ("704 e. weatherford st.", "704 E WEATHERFORD ST"),
        ("  704   E  Weatherford   St ", "704 E WEATHERFORD ST"),
        # spelled-out suffixes and directionals, before and after the name
        ("704 East Weatherford Street", "704 E WEATHERFORD ST"),
        ("1813 Ederville Road South", "1813 EDERVILLE RD S"),
        ("4033 Landisburg Trail", "4033 LANDISBURG TR"),  # TAD writes Trail as "TR"
        ("4800 Richards Terrace", "4800 RICHARDS TERR"),
        ("1234 North-West Loop 820", "1234 NW LOOP 820"),
        # unit designators: one unit however it is introduced
        ("5722 Ensign Dr E Apt 84", "5722 ENSIGN DR E # 84"),
        ("5722 Ensign Dr E, Unit 084", "5722 ENSIGN DR E # 84"),
        ("5722 ENSIGN DR E #84", "5722 ENSIGN DR E # 84"),
        ("1301 Throckmorton St Suite 2005", "1301 THROCKMORTON ST UNIT 2005"),
        # ordinals
        ("3613 West Fifth Street", "3613 W 5TH ST"),
        ("1234 Twenty-First St", "1234 21ST ST"),
        # name spellings
        ("5800 McCart Ave", "5800 MC CART AVE"),
        ("1234 Saint Louis Ave", "1234 ST LOUIS AVE"),
        # Texas route forms
        ("12345 Farm to Market Road 620", "12345 FM 620"),
        ("12345 F.M. 620 Apt 3", "12345 FM 620 # 3"),
        ("1234 North Interstate Highway 35", "1234 N IH 35"),
        ("1234 N I-35", "1234 N IH 35"),
        ("1234 IH35W", "1234 IH 35W"),
        ("100 U.S. Highway 287", "100 US HWY 287"),
        ("1234 State Highway 121 Suite 200", "1234 SH 121 STE 200"),
        ("1234 County Road 123", "1234 CR 123"),
        # lettered avenues: the letter is the street, not a unit or a directional
        ("2704 Avenue G", "2704 AVE G"),
        # a city, state and ZIP after the street line are not part of it
        ("704 E Weatherford St, Fort Worth, TX 76102", "704 E WEATHERFORD ST"),
    ],
)
def test_portal_spelling_normalises_like_the_cad_spelling(portal: str, cad: str) -> None:
    assert full(portal) == full(cad)
    assert full(cad) is not None


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("3613 W 5TH ST", "3613 5TH AVE"),  # a real Fort Worth near miss
        ("4312 BELLAIRE DR S", "4312 BELLAIRE DR N"),
        ("1813 EDERVILLE RD S", "1813 EDERVILLE RD"),
        ("411 W 7TH ST", "411 E 7TH ST"),
        ("704 E WEATHERFORD ST", "706 E WEATHERFORD ST"),
        ("2704 AVE G", "2704 AVE H"),
        ("12345 FM 620", "12345 FM 1620"),
        ("1234 IH 35W", "1234 IH 35"),
        ("500 THROCKMORTON ST # 1612", "500 THROCKMORTON ST # 2309"),
        ("3613 W 5TH ST", "3613 W 6TH ST"),
    ],
)
def test_different_addresses_stay_different(one: str, other: str) -> None:
    assert full(one) != full(other)


@pytest.mark.parametrize(
    "text", ["WAT RD", "AZLE AVE", "W CLEBURNE RD", "OAK HILL CIR", "PO BOX 4090", "", "   ", None]
)
def test_a_street_without_a_house_number_is_not_an_address(text: str | None) -> None:
    assert normalize_address(text) is None


def test_unit_is_kept_apart_from_the_street_line() -> None:
    normalized = normalize_address("5722 Ensign Drive East, Apt 84")
    assert normalized is not None
    assert (normalized.street, normalized.unit) == ("5722 ENSIGN DR E", "84")


def test_every_tarrant_situs_matches_itself_written_the_portal_ways(shared_data: Path) -> None:
    situs = [address for _, address in tarrant_situs(shared_data)]
    addressed = [a for a in situs if normalize_address(a) is not None]
    # A few sample parcels are land without a house number; everything else must normalise.
    assert len(situs) - len(addressed) < 15
    mismatches = [
        (address, form)
        for address in addressed
        for form in portal_forms(address)
        if normalize_address(form) != normalize_address(address)
    ]
    assert mismatches == []


def test_no_tarrant_situs_matches_a_neighbouring_house_number(shared_data: Path) -> None:
    situs = [a for _, a in tarrant_situs(shared_data) if normalize_address(a) is not None]
    collisions = [
        address
        for address in situs
        for form in portal_forms(other_house_number(address))
        if normalize_address(form) == normalize_address(address)
    ]
    assert collisions == []


def test_cities_compare_across_abbreviations() -> None:
    assert normalize_city("Ft. Worth") == normalize_city("FORT WORTH")
    assert normalize_city("Fort Worth") != normalize_city("Haltom City")
    assert normalize_city("  ") is None


def test_plain_lines_skip_the_tagger_and_agree_with_it(shared_data: Path) -> None:
    from services.enricher.address import _plain_street_line, _tagged_street_line, clean

    lines = [clean(address) for _, address in tarrant_situs(shared_data)]
    plain = [line for line in lines if _plain_street_line(line) is not None]
    assert len(plain) > len(lines) * 0.7  # the shortcut is the common case
    assert [normalize_address(line) for line in plain] == [
        _tagged_street_line(line) for line in plain
    ]
