"""searchsvc: full-text search for news sites.

The pipeline, one package per stage: content files (`content`) -> parsed documents
(`parsing`, `model`) -> index (`index`) -> query (`query`, `index.searching`) -> HTTP (`web`).
"""

__version__ = "0.1.0"
