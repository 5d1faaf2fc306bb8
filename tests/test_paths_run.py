"""Index runs over the paths a watcher saw (`searchsvc index --path`): only their folders
are scanned; what changed there is indexed, what changed elsewhere waits for a full scan."""

from __future__ import annotations

import shutil

from conftest import config_for, write

from searchsvc.index import run_index

EVENT = "### [2013-03-01](/news/2013/03/01/index.md)\n\n# {title}\n\n{body}\n"


def test_a_run_over_paths_sees_only_their_folders(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    config = config_for(root, ix)
    run_index(config, progress=False)
    write(root, "news/2013/03/01/a.md", EVENT.format(title="Okapi rally", body="Okapi."))
    write(root, "news/2013/03/02/b.md", EVENT.format(title="Bongo rally", body="Bongo."))
    report = run_index(config, progress=False, paths=["news/2013/03/01/a.md"])
    assert report.added == ["news/2013/03/01/a.md"]
    assert report.unchanged < 50  # one folder listed, not the 540 files of the tree
    # b.md's folder was not looked at; the full scan finds it.
    assert run_index(config, progress=False).added == ["news/2013/03/02/b.md"]


def test_a_folder_copied_in_deleted_or_moved_is_one_run(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    config = config_for(root, ix)
    run_index(config, progress=False)
    batch = tmp_path / "batch"
    for n in range(30):
        write(batch, f"day/e{n}.md", EVENT.format(title=f"Event {n}", body="Pangolin."))
    shutil.copytree(batch, root / "news/2013/04")
    report = run_index(config, progress=False, paths=["news/2013/04"])
    assert len(report.added) == 30
    (root / "news/2013/04").rename(root / "news/2013/05")
    report = run_index(config, progress=False, paths=["news/2013/04", "news/2013/05"])
    assert len(report.added) == 30 and len(report.deleted) == 30
    assert all(i.startswith("news/2013/05/") for i in report.added)
    shutil.rmtree(root / "news/2013/05")
    report = run_index(config, progress=False, paths=["news/2013/05"])
    assert len(report.deleted) == 30 and not report.added
    # The manifest ends as a full scan sees the tree: nothing left to do.
    again = run_index(config, progress=False)
    assert not again.added and not again.deleted and not again.updated


def test_hidden_paths_and_paths_through_links_are_not_content(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    config = config_for(root, ix)
    run_index(config, progress=False)
    write(tmp_path / "elsewhere", "x.md", EVENT.format(title="Linked", body="Linked."))
    (root / "news/linked").symlink_to(tmp_path / "elsewhere")
    write(root, "news/.drafts/y.md", EVENT.format(title="Draft", body="Draft."))
    report = run_index(config, progress=False, paths=["news/linked/x.md", "news/.drafts/y.md"])
    assert not report.added
    assert not run_index(config, progress=False).added  # the full scan agrees


def test_without_an_index_a_run_over_paths_reads_the_whole_tree(sample_tree, tmp_path):
    config = config_for(sample_tree, tmp_path / "ix")
    report = run_index(config, progress=False, paths=["news/2013/01"])
    assert len(report.added) > 400
