"""A gazetteer: cities, countries and regions, each with what contains it, so that "Lisbon" and
"Portugal" name the same place while "Lisbon" and "Madrid" do not.

Two parts. The hand-made one below holds the regions, countries and cities requests name most, with the
regions marketing sells by (DACH, the Nordics, EMEA); it is read in any case ("lisbon"). ``cities.json``
adds the world's states and provinces with their country, its other large cities with their region, and
the larger cities' other names ("Firenze", "Den Haag"; GeoNames, written by scripts/make_cities.py); those
are read only when the request capitalises them ("Izmir", "Silesia"), since some are words too.
``places_in`` reads them in a request's text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Set
from pathlib import Path
from typing import Any

__all__ = ["HAND_MADE_CITIES", "PLACES", "PLACE_WORDS", "WORLD_ALIASES", "WORLD_PLACES", "place_chain", "places_in",
           "plain"]

_REGIONS = {
    "europe": "emea", "middle east": "emea", "africa": "emea", "asia": "apac", "oceania": "apac",
    "latin america": "americas", "north america": "americas", "dach": "europe", "nordics": "europe",
    "benelux": "europe", "iberia": "europe", "uk and ireland": "europe", "emea": "", "apac": "", "americas": "",
    "latam": "americas", "new england": "usa", "bay area": "usa", "midwest": "usa", "pacific northwest": "usa",
    "silicon valley": "bay area", "west coast": "usa", "east coast": "usa", "scandinavia": "nordics",
    "balkans": "europe", "baltics": "europe", "gulf": "middle east", "southeast asia": "asia", "anz": "oceania",
}
_COUNTRIES = {
    "portugal": "iberia", "spain": "iberia", "france": "europe", "germany": "dach", "austria": "dach",
    "switzerland": "dach", "italy": "europe", "ireland": "europe", "uk": "europe", "netherlands": "benelux",
    "belgium": "benelux", "luxembourg": "benelux", "sweden": "nordics", "denmark": "nordics", "norway": "nordics",
    "finland": "nordics", "poland": "europe", "czechia": "europe", "greece": "europe", "usa": "north america",
    "canada": "north america", "mexico": "latin america", "brazil": "latin america", "argentina": "latin america",
    "chile": "latin america", "colombia": "latin america", "japan": "asia", "china": "asia", "india": "asia",
    "singapore": "southeast asia", "indonesia": "southeast asia", "thailand": "southeast asia",
    "vietnam": "southeast asia", "malaysia": "southeast asia", "philippines": "southeast asia", "qatar": "gulf",
    "south korea": "asia", "taiwan": "asia", "australia": "oceania", "new zealand": "oceania", "uae": "gulf",
    "saudi arabia": "gulf",
    "israel": "middle east", "south africa": "africa", "nigeria": "africa", "kenya": "africa", "egypt": "africa",
    "turkey": "europe", "croatia": "balkans", "slovenia": "balkans", "serbia": "balkans", "bosnia": "balkans",
    "romania": "europe", "hungary": "europe", "bulgaria": "balkans", "slovakia": "europe", "estonia": "baltics",
    "latvia": "baltics", "lithuania": "baltics", "iceland": "nordics", "ukraine": "europe", "cyprus": "europe",
    "malta": "europe", "peru": "latin america", "uruguay": "latin america", "ecuador": "latin america",
    "costa rica": "latin america", "panama": "latin america", "venezuela": "latin america",
    "morocco": "africa", "tunisia": "africa", "ghana": "africa", "ethiopia": "africa", "pakistan": "asia",
    "bangladesh": "asia", "sri lanka": "asia", "nepal": "asia", "kazakhstan": "asia",
    "lebanon": "middle east", "oman": "gulf", "bahrain": "gulf", "kuwait": "gulf",
}
_ALIASES = {
    "united kingdom": "uk", "britain": "uk", "great britain": "uk", "england": "uk", "scotland": "uk",
    "united states": "usa", "u s": "usa", "america": "usa", "holland": "netherlands",
    "the netherlands": "netherlands", "korea": "south korea", "emirates": "uae", "czech republic": "czechia",
    "deutschland": "germany", "nordic": "nordics", "iberian": "iberia", "european": "europe", "asia pacific": "apac",
    "asia-pacific": "apac", "north american": "north america", "italian": "italy", "irish": "ireland", "british": "uk",
    # Languages spoken in many countries (Spanish, French, Portuguese, Chinese) name none of them.
    "german": "dach",
    "dutch": "benelux", "danish": "denmark", "norwegian": "norway", "finnish": "finland", "polish": "poland",
    "japanese": "japan", "indian": "india", "australian": "australia", "canadian": "canada",
    "mexican": "mexico", "brazilian": "brazil", "nyc": "new york", "bengaluru": "bangalore",
    "the bay area": "bay area", "swedish": "sweden",
}
_CITIES = {
    "lisbon": "portugal", "porto": "portugal", "madrid": "spain", "barcelona": "spain", "valencia": "spain",
    "paris": "france", "lyon": "france", "marseille": "france", "berlin": "germany", "munich": "germany",
    "frankfurt": "germany", "hamburg": "germany", "cologne": "germany", "vienna": "austria", "zurich": "switzerland",
    "geneva": "switzerland", "milan": "italy", "rome": "italy", "dublin": "ireland", "london": "uk",
    "manchester": "uk", "edinburgh": "uk", "amsterdam": "netherlands", "rotterdam": "netherlands",
    "brussels": "belgium", "stockholm": "sweden", "copenhagen": "denmark", "oslo": "norway", "helsinki": "finland",
    "warsaw": "poland", "krakow": "poland", "prague": "czechia", "athens": "greece", "istanbul": "turkey",
    "new york": "east coast", "boston": "new england", "chicago": "midwest", "san francisco": "bay area",
    "los angeles": "west coast", "seattle": "pacific northwest", "portland": "pacific northwest", "austin": "usa",
    "denver": "usa", "atlanta": "usa", "houston": "usa", "philadelphia": "east coast", "minneapolis": "midwest",
    "detroit": "midwest", "pittsburgh": "usa", "phoenix": "usa", "salt lake city": "usa", "nashville": "usa",
    "hartford": "new england", "san jose": "bay area", "oakland": "bay area", "palo alto": "silicon valley",
    "miami": "usa", "dallas": "usa", "washington": "usa", "las vegas": "usa", "san diego": "usa", "toronto": "canada",
    "vancouver": "canada", "montreal": "canada", "calgary": "canada", "ottawa": "canada", "edmonton": "canada",
    "quebec": "canada", "winnipeg": "canada", "glasgow": "uk", "birmingham": "uk", "leeds": "uk", "bristol": "uk",
    "liverpool": "uk", "belfast": "uk", "cork": "ireland", "gothenburg": "sweden", "malmo": "sweden",
    "aarhus": "denmark", "bergen": "norway", "tampere": "finland", "tallinn": "estonia", "riga": "latvia",
    "vilnius": "lithuania", "budapest": "hungary", "bucharest": "romania", "belgrade": "serbia", "zagreb": "croatia",
    "seville": "spain", "bilbao": "spain", "faro": "portugal", "toulouse": "france", "bordeaux": "france",
    "lille": "france", "stuttgart": "germany", "dusseldorf": "germany", "leipzig": "germany", "dresden": "germany",
    "essen": "germany", "dortmund": "germany", "antwerp": "belgium", "ghent": "belgium", "utrecht": "netherlands",
    "eindhoven": "netherlands", "the hague": "netherlands", "basel": "switzerland", "lausanne": "switzerland",
    "turin": "italy", "naples": "italy", "florence": "italy", "bologna": "italy", "doha": "gulf",
    "kuwait city": "kuwait", "jakarta": "southeast asia", "bangkok": "southeast asia", "manila": "southeast asia",
    "kuala lumpur": "southeast asia", "ho chi minh city": "southeast asia", "hanoi": "southeast asia",
    "taipei": "taiwan", "taichung": "taiwan",
    "kaohsiung": "taiwan", "chennai": "india", "hyderabad": "india", "pune": "india", "kolkata": "india",
    "brisbane": "australia", "perth": "australia", "adelaide": "australia", "canberra": "australia",
    "wellington": "new zealand", "lima": "peru", "monterrey": "mexico", "guadalajara": "mexico",
    "mexico city": "mexico", "sao paulo": "brazil", "são paulo": "brazil", "rio de janeiro": "brazil",
    "buenos aires": "argentina", "santiago": "chile", "bogota": "colombia", "tokyo": "japan", "osaka": "japan",
    "shanghai": "china", "beijing": "china", "hong kong": "china", "mumbai": "india", "bangalore": "india",
    "bengaluru": "india", "delhi": "india", "new delhi": "india", "seoul": "south korea", "sydney": "australia",
    "melbourne": "australia", "auckland": "new zealand", "dubai": "uae", "abu dhabi": "uae", "riyadh": "saudi arabia",
    "tel aviv": "israel", "cape town": "south africa", "johannesburg": "south africa", "lagos": "nigeria",
    "nairobi": "kenya", "cairo": "egypt",
}
_PARENT = {**_REGIONS, **_COUNTRIES, **_CITIES}
PLACES = frozenset(_PARENT) | frozenset(_ALIASES)
HAND_MADE_CITIES = frozenset(_CITIES)
_WORLD: dict[str, Any] = {"regions": {}, "cities": {}, "common_words": [], "aliases": {}}  # while written anew
_WORLD |= json.loads(Path(__file__).with_name("cities.json").read_text())
# The regions (states, provinces) and cities the hand-made part does not hold, each with what contains it: a
# region its country, a city its region or else its country (which the hand-made part may not hold either).
WORLD_PLACES = {name: parent for name, parent in {**_WORLD["regions"], **_WORLD["cities"]}.items()
                if name not in PLACES}
# Other names of the larger cities, each with the one the gazetteer knows it by: "firenze" is "florence".
WORLD_ALIASES: dict[str, str] = {alias: name for alias, name in _WORLD["aliases"].items() if alias not in PLACES}
# A hand-made city lies in its region, and the region in the city's country: munich, bavaria, germany.
_IN_REGION = {city: region for city, region in _WORLD["cities"].items()
              if city in _CITIES and _WORLD["regions"].get(region) == _CITIES[city]}
_RARE_WORDS = frozenset(w for place in _WORLD["regions"] if " " in place for w in place.split()
                        if w not in _WORLD["common_words"])
# Words that are a place on their own: not an account's or product's name.
PLACE_WORDS = (frozenset(w for place in PLACES for w in place.split()) | _RARE_WORDS
               | frozenset(place.replace(" ", "-") for place in (*WORLD_PLACES, *WORLD_ALIASES)))  # "cluj-napoca"


_CONTAINED_IN = {**WORLD_PLACES, **_PARENT, **_IN_REGION}


def place_chain(name: str) -> tuple[str, ...]:
    """The place and every place that contains it, most specific first: lisbon, portugal, iberia, europe, emea."""
    chain = [_ALIASES.get(name) or WORLD_ALIASES.get(name) or name]
    while (parent := _CONTAINED_IN.get(chain[-1])) and parent not in chain:  # Djibouti lies in Djibouti
        chain.append(parent)
    return tuple(chain)


_CAPITALISED_RUN = re.compile(r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*")


def plain(text: str) -> str:
    """``text`` without its accents: "Bogotá" as the gazetteer spells it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _capitalised_places(text: str) -> set[str]:
    """The gazetteer's world cities, their other names and regions among the runs of capitalised words ("Izmir",
    "Cluj-Napoca", "Firenze", "Silesia")."""
    found = set()
    for run in _CAPITALISED_RUN.findall(text):
        words = run.replace("-", " ").lower().split()
        found |= {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(i + 4, len(words) + 1))
                  if " ".join(words[i:j]) in WORLD_PLACES or " ".join(words[i:j]) in WORLD_ALIASES}
    return found


def places_in(text: str, firms: Set[str] = frozenset()) -> tuple[tuple[str, ...], ...]:
    """The places a request's text names, each with what contains it; none of ``firms`` ("kilimanjaro" of
    "Kilimanjaro Freight", the first words of firms' names), which are accounts."""
    plain_text = plain(text)
    lower = " " + re.sub(r"[^a-z0-9 ]", " ", plain_text.lower()) + " "
    found = {name for name in PLACES if f" {name} " in lower} | _capitalised_places(plain_text)
    found -= firms
    # "new york" holds "york": keep only the longest place a span names.
    found = {n for n in found if not any(n != m and f" {n} " in f" {m} " for m in found)}
    return tuple(sorted(place_chain(n) for n in found))
