"""Each private corner of Whoosh that searchsvc/index/whoosh_compat.py reads, checked
against Whoosh's public API on a real index: a Whoosh upgrade that moves one turns a test
red here, not a search wrong somewhere."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.compound import CompoundStorage

from searchsvc.index import whoosh_compat as compat


@pytest.fixture(scope="module")
def segments(sample_index):
    ix = whoosh_index.open_dir(str(sample_index / "ix"))
    reader = ix.reader()
    yield [seg for seg, _ in reader.leaf_readers()]
    reader.close()


def some_terms(seg, field: str, n: int = 40) -> list[bytes]:
    return list(seg.lexicon(field))[:: max(1, len(list(seg.lexicon(field))) // n)]


def test_posting_arrays_are_the_postings(segments):
    for seg in segments:
        for field in ("title", "body", "tags", "kind"):
            for term in some_terms(seg, field):
                ids, weights = compat.postings(seg, field, term)
                m = seg.postings(field, term)
                expected = []
                while m.is_active():
                    expected.append((m.id(), m.weight()))
                    m.next()
                live = [(int(i), float(w)) for i, w in zip(ids, weights, strict=True)]
                live = [(i, w) for i, w in live if not seg.is_deleted(i)]
                assert live == expected, (field, term)


def test_unique_ids_in_order(segments):
    for seg in segments:
        values, docnums = compat.ids_in_order(seg, "id")
        assert values == sorted(values)
        for value, d in list(zip(values, docnums.tolist(), strict=True))[::25]:
            assert seg.stored_fields(d)["id"] == value


def test_field_lengths_are_what_the_scorer_reads(segments):
    for seg in segments:
        lengths = compat.field_lengths(seg, "title")
        for d in range(0, seg.doc_count_all(), 17):
            assert lengths[d] == (seg.doc_field_length(d, "title") or 0)


def test_positions_at_documents(segments):
    fmt_field = "title"
    for seg in segments:
        for term in some_terms(seg, fmt_field, 20):
            m = seg.postings(fmt_field, term)
            expected = {}
            while m.is_active():
                expected[m.id()] = list(m.value_as("positions"))
                m.next()
            wanted = [*sorted(expected)[::2], seg.doc_count_all() - 1]
            got = compat.positions_at(seg, fmt_field, term.decode(), sorted(set(wanted)))
            assert {d: list(p) for d, p in got.items()} == {
                d: expected[d] for d in set(wanted) if d in expected
            }


def test_segment_parts_are_read_in_place(sample_index):
    """Parts of a compound segment file are read from the shared mapping, not copied
    into each process's memory."""
    from whoosh.filedb.structfile import StructFile

    seg_file = next((sample_index / "ix").glob("*.seg"))
    storage = CompoundStorage(StructFile(open(seg_file, "rb")))  # noqa: SIM115 - closed below
    try:
        name = storage.list()[0]
        f = storage.open_file(name)
        assert isinstance(f, compat.SharedBufferFile)
        offset, length = storage.range(name)
        head = f.read(16)
        assert head == bytes(storage._source[offset : offset + 16])
        f.seek(0)
        assert f.read(length + 10) == bytes(storage._source[offset : offset + length])
        f.close()
    finally:
        storage.close()


def test_numeric_columns_read_at_once(segments):
    for seg in segments:
        n = seg.doc_count_all()
        column = seg.column_reader("day", translate=False)
        assert isinstance(column, compat.columns.NumericColumn.Reader)
        assert compat.numeric_column(column, n).tolist() == [column[d] for d in range(n)]
        # A column that ends before the last documents reads as its default there.
        assert compat.numeric_column(column, n + 3).tolist()[-3:] == [0, 0, 0]


def test_prefix_terms_are_the_words_the_prefix_expands_to(sample_index):
    from whoosh import query as wq

    ix = whoosh_index.open_dir(str(sample_index / "ix"))
    with ix.searcher() as s:
        reader = s.reader()
        for prefix in ("ma", "dou", "zzz"):
            expected = set(reader.expand_prefix("body", prefix))
            assert set(compat.prefix_terms(wq.Prefix("body", prefix), reader)) == expected


def test_stored_lengths_are_the_field_lengths(segments):
    for seg in segments:
        segment = seg.segment()
        pdr = segment.codec().per_document_reader(seg.storage(), segment)
        column = compat.stored_lengths(pdr, "title")
        assert column is not None
        n = seg.doc_count_all()
        lengths = [compat.byte_to_length(column[d]) if column[d] else 0 for d in range(n)]
        assert lengths == [seg.doc_field_length(d, "title", 0) for d in range(n)]
        pdr.close()


def test_a_commit_taken_apart_commits(tmp_path):
    """finish_segment, merge_segments and commit_segments, in the order commit.py uses
    them, leave an index that a new reader sees whole and a lock another writer can take."""
    from whoosh import fields
    from whoosh.writing import NO_MERGE

    schema = fields.Schema(id=fields.ID(stored=True, unique=True), body=fields.TEXT)
    ix = whoosh_index.create_in(str(tmp_path), schema)
    with ix.writer() as w:
        w.add_document(id="a", body="first")
    searcher = ix.searcher()
    first = searcher.reader().generation()

    writer = ix.writer()
    writer.add_document(id="b", body="second")
    kept = compat.merge_segments(writer, NO_MERGE)
    assert [s.segment_id() for s in kept] == [s.segment_id() for s in compat.index_segments(ix)]
    new = compat.finish_segment(writer)
    assert new is not None and new.doc_count_all() == 1
    compat.commit_segments(writer, [*kept, new])

    assert compat.latest_generation(searcher) == first + 1  # newer than the searcher's own
    assert compat.searcher_index(searcher).latest_generation() == first + 1
    searcher.close()
    with ix.searcher() as s:
        assert sorted(d["id"] for d in s.all_stored_fields()) == ["a", "b"]
    empty = ix.writer()  # the lock was released
    assert compat.finish_segment(empty) is None  # nothing added: no segment
    empty.cancel()
