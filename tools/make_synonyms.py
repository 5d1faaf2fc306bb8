"""Rebuild the default synonyms list (searchsvc/data/synonyms.txt).

    python tools/make_synonyms.py

Writes the hand-kept news groups below, then the countries' other names from
`countryinfo` (already a dependency, for the gazetteer): short English or Latin-script
names only ("Czechia", "Türkiye"), not official long forms ("Republic of ..."), and
abbreviations such as UK or DRC one way (an abbreviation finds the country's name; the
name does not find every "uk" in a text).
"""

from __future__ import annotations

import re
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "searchsvc" / "data" / "synonyms.txt"

# Entries match whatever the case: no entry may be a common word in lower case ("WHO",
# "AIDS"), which would turn "who" into "World Health Organization".
NEWS = """\
# Synonyms applied at query time (see config.toml, search.synonyms). One group a line:
#   a, b, c      each finds the others
#   a, b -> c    a and b find c too (one way)
# Made by tools/make_synonyms.py: edit the NEWS groups there, or this file directly.

# places spelled otherwise in older reports
Kyiv, Kiev
Kharkiv, Kharkov
Odesa, Odessa
Mumbai, Bombay
Chennai, Madras
Kolkata, Calcutta
Beijing, Peking
Yangon, Rangoon
Myanmar, Burma
Czech Republic, Czechia
Eswatini, Swaziland
Turkey, Türkiye
Ivory Coast, Côte d'Ivoire

# health
COVID-19, COVID, coronavirus, SARS-CoV-2
Ebola, EVD

# organisations
UN, U.N. -> United Nations
EU -> European Union
NATO, North Atlantic Treaty Organization
ISIS, ISIL, Islamic State, Daesh
AQIM, al-Qaeda in the Islamic Maghreb
"""

# Official long forms and native-language names of the state ("República de ...",
# "Kongeriket Norge"): not how news readers type a country.
_OFFICIAL = re.compile(
    r"\b(the|of|state|states|republi\w*|rep\wbli\w*|repubblica|kingdom|reino|royaume|"
    r"principat\w*|federa\w*|union|jamhuri\w*|jumh\w*|dawlat|mamlakah|konge\w*|"
    r"konungariket|bundesrepublik|bailliage|département|estados|islāmī|muso|lefatshe)\b",
    re.I,
)


def country_lines() -> list[str]:
    import countryinfo
    from spellchecker import SpellChecker

    common = SpellChecker(distance=1).word_frequency
    lines = []
    for info in sorted((ci.info() for ci in countryinfo.all_countries()), key=lambda i: i["name"]):
        name = info.get("name") or ""
        if not re.fullmatch(r"[A-Za-z .'-]+", name):  # "Virgin Islands, British", "(...)"
            continue
        codes = set((info.get("ISO") or {}).values())
        names, short = [name], []
        for alt in info.get("altSpellings") or []:
            if "," in alt or alt in codes or alt == name:
                continue
            if not alt.isascii() or not re.fullmatch(r"[\w .'-]+", alt):
                continue  # a native spelling, another script, a transliteration
            if alt.isupper() and len(alt) <= 4:
                short.append(alt)
                continue
            words = alt.lower().split()
            if len(words) > 2 or len(alt) <= 3 or _OFFICIAL.search(alt):
                continue
            if len(words) == 1 and common[words[0]] > 0:  # "Island", "Thai", "Mann"
                continue
            if alt.lower() in name.lower() or name.lower() in alt.lower():
                continue  # "Congo" in "Republic of the Congo": not the same country
            names.append(alt)
        if len(names) > 1:
            lines.append(", ".join(dict.fromkeys(names)))
        if short:
            lines.append(f"{', '.join(short)} -> {name}")
    return lines


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = NEWS + "\n# countries' other names (countryinfo)\n" + "\n".join(country_lines()) + "\n"
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
