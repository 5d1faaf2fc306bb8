"""Rebuild the bundled sample (searchsvc/sample/content) from ../shared.

    python tools/make_sample.py ../shared

Takes the two seeds, event pages built from the seed's own Related list (title, date
and context as the seed gives them), November 2012 from the dev corpus, the corpus's
2012 events that mention Mali, and 60 BBC source texts. See searchsvc/sample/README.md.
"""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "searchsvc" / "sample" / "content"
SEED_EVENT = (
    "news/2013/01/21/northern-mali-conflict-french-and-malian-troops-retake-diabaly-and-"
    "douentza-as-islamist-forces-retreat.md"
)
SEED_SOURCE = "sources/theglobeandmail/canada-evacuates-embassy-staff-from-mali.txt"
LINK = re.compile(r"^\d+\. \[(.*)\]\((/news/(\d{4})/(\d{1,2})/(\d{1,2})/[^)]+)\) _Context: (.*)_$")


def main(shared: Path) -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    seed = (shared / "seeds" / "000_effb24a1013022c0.txt").read_text(encoding="utf-8")
    write(SEED_EVENT, seed)
    write(SEED_SOURCE, (shared / "seeds" / "004_21c2089d99f203a8.txt").read_text(encoding="utf-8"))
    seed_title = re.search(r"^# (.*)$", seed, re.M)[1].strip()
    for line in seed.splitlines():
        m = LINK.match(line.strip())
        if not m:
            continue
        title, href, y, mo, d, context = m.groups()
        title = title.strip()
        date = f"{y}-{int(mo):02d}-{int(d):02d}"
        story, _, rest = title.partition(":")
        summary = rest.strip() if rest.strip() and len(story) < 60 else title
        write(
            href.lstrip("/"),
            (
                f"### [{date}](/news/{y}/{mo}/{d}/index.md)\n\n# {title} \n\n{summary}\n\n"
                f"### Related:\n\n1. [{seed_title} ](/{SEED_EVENT}) _Context: {context}_\n"
            ),
        )
    with tarfile.open(shared / "corpus" / "dev-content.tar.gz") as tar:
        bbc = 0
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.removeprefix("content/")
            data = tar.extractfile(member).read()
            keep = name.startswith("news/2012/11/")
            keep |= (
                name.startswith("news/2012/") and b"Mali" in data and not name.endswith("index.md")
            )
            if name.startswith("sources/bbc/") and bbc < 60 and zlib.crc32(name.encode()) % 30 == 0:
                keep, bbc = True, bbc + 1
            if keep:
                write(name, data.decode("utf-8"))


def write(rel: str, text: str) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared"))
