"""A small gazetteer: cities, countries and regions, each with what contains it, so that "Lisbon" and
"Portugal" name the same place while "Lisbon" and "Madrid" do not."""

from __future__ import annotations

__all__ = ["PLACES", "place_chain"]

_REGIONS = {
    "europe": "emea", "middle east": "emea", "africa": "emea", "asia": "apac", "oceania": "apac",
    "latin america": "americas", "north america": "americas", "dach": "europe", "nordics": "europe",
    "benelux": "europe", "iberia": "europe", "uk and ireland": "europe",
    "emea": "", "apac": "", "americas": "", "latam": "americas",
}
_COUNTRIES = {
    "portugal": "iberia", "spain": "iberia", "france": "europe", "germany": "dach", "austria": "dach",
    "switzerland": "dach", "italy": "europe", "ireland": "europe", "uk": "europe", "netherlands": "benelux",
    "belgium": "benelux", "luxembourg": "benelux", "sweden": "nordics", "denmark": "nordics",
    "norway": "nordics", "finland": "nordics", "poland": "europe", "czechia": "europe", "greece": "europe",
    "usa": "north america", "canada": "north america", "mexico": "latin america", "brazil": "latin america",
    "argentina": "latin america", "chile": "latin america", "colombia": "latin america", "japan": "asia",
    "china": "asia", "india": "asia", "singapore": "asia", "south korea": "asia", "australia": "oceania",
    "new zealand": "oceania", "uae": "middle east", "saudi arabia": "middle east", "israel": "middle east",
    "south africa": "africa", "nigeria": "africa", "kenya": "africa", "egypt": "africa", "turkey": "europe",
}
_ALIASES = {
    "united kingdom": "uk", "britain": "uk", "great britain": "uk", "england": "uk", "scotland": "uk",
    "united states": "usa", "us": "usa", "u s": "usa", "america": "usa", "holland": "netherlands",
    "the netherlands": "netherlands", "korea": "south korea", "emirates": "uae", "czech republic": "czechia",
    "deutschland": "germany", "nordic": "nordics", "iberian": "iberia", "european": "europe",
    "asia pacific": "apac", "asia-pacific": "apac", "north american": "north america",
    "portuguese": "portugal", "spanish": "spain", "french": "france", "german": "germany",
    "italian": "italy", "irish": "ireland", "british": "uk", "dutch": "netherlands", "swedish": "sweden",
    "danish": "denmark", "norwegian": "norway", "finnish": "finland", "polish": "poland", "japanese": "japan",
    "chinese": "china", "indian": "india", "australian": "australia", "canadian": "canada",
    "mexican": "mexico", "brazilian": "brazil", "nyc": "new york", "sf": "san francisco", "la": "los angeles",
}
_CITIES = {
    "lisbon": "portugal", "porto": "portugal", "madrid": "spain", "barcelona": "spain", "valencia": "spain",
    "paris": "france", "lyon": "france", "marseille": "france", "berlin": "germany", "munich": "germany",
    "frankfurt": "germany", "hamburg": "germany", "cologne": "germany", "vienna": "austria",
    "zurich": "switzerland", "geneva": "switzerland", "milan": "italy", "rome": "italy", "dublin": "ireland",
    "london": "uk", "manchester": "uk", "edinburgh": "uk", "amsterdam": "netherlands", "rotterdam": "netherlands",
    "brussels": "belgium", "stockholm": "sweden", "copenhagen": "denmark", "oslo": "norway",
    "helsinki": "finland", "warsaw": "poland", "krakow": "poland", "prague": "czechia", "athens": "greece",
    "istanbul": "turkey", "new york": "usa", "boston": "usa", "chicago": "usa", "san francisco": "usa",
    "los angeles": "usa", "seattle": "usa", "austin": "usa", "denver": "usa", "atlanta": "usa",
    "miami": "usa", "dallas": "usa", "washington": "usa", "las vegas": "usa", "san diego": "usa",
    "toronto": "canada", "vancouver": "canada", "montreal": "canada", "mexico city": "mexico",
    "sao paulo": "brazil", "são paulo": "brazil", "rio de janeiro": "brazil", "buenos aires": "argentina",
    "santiago": "chile", "bogota": "colombia", "tokyo": "japan", "osaka": "japan", "shanghai": "china",
    "beijing": "china", "hong kong": "china", "mumbai": "india", "bangalore": "india", "bengaluru": "india",
    "delhi": "india", "new delhi": "india", "seoul": "south korea", "sydney": "australia",
    "melbourne": "australia", "auckland": "new zealand", "dubai": "uae", "abu dhabi": "uae",
    "riyadh": "saudi arabia", "tel aviv": "israel", "cape town": "south africa",
    "johannesburg": "south africa", "lagos": "nigeria", "nairobi": "kenya", "cairo": "egypt",
}
_PARENT = {**_REGIONS, **_COUNTRIES, **_CITIES}
PLACES = frozenset(_PARENT) | frozenset(_ALIASES)


def place_chain(name: str) -> tuple[str, ...]:
    """The place and every place that contains it, most specific first: lisbon, portugal, iberia, europe, emea."""
    chain = [_ALIASES.get(name, name)]
    while _PARENT.get(chain[-1]):
        chain.append(_PARENT[chain[-1]])
    return tuple(chain)
