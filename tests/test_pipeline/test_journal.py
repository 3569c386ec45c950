"""Per-rank journals: one flushed line per frame; a torn tail skipped and cut off, other
bad lines set aside without costing an intact one."""

import numpy as np
import pytest

from adcert.pipeline.journal import (
    Journal,
    decode_state,
    encode_state,
    journal_path,
    read_run,
    set_aside_bad_lines,
)
from adcert.pipeline.rundir import (
    check_resumable,
    dumps,
    latest_run_dir,
    new_run_dir,
    write_json,
)


def test_entries_survive_and_a_torn_tail_is_cut(tmp_path):
    journal = Journal(str(tmp_path), 0)
    journal.append(0, {"image_id": "a"}, {"metric": [{"n": np.arange(3)}], "clean": None})
    journal.append(2, {"image_id": "c"}, {"metric": [], "clean": None})
    journal.close()
    with open(journal_path(str(tmp_path), 0), "ab") as f:
        f.write(b'{"index": 4, "record": {')
    done = read_run(str(tmp_path))
    assert sorted(done) == [0, 2]
    np.testing.assert_array_equal(done[0].state["metric"][0]["n"], np.arange(3))
    again = Journal(str(tmp_path), 0)  # reopening cuts the torn line before appending
    again.append(4, {"image_id": "e"}, {"metric": [], "clean": None})
    again.close()
    assert sorted(read_run(str(tmp_path))) == [0, 2, 4]


def test_bad_lines_are_set_aside_and_every_intact_line_kept(tmp_path):
    ids = ["a.png", "b.png", "c.png", "d.png"]
    journal = Journal(str(tmp_path), 0)
    for index in range(4):
        journal.append(index, {"image_id": ids[index], "seed": 7}, {})
    journal.close()
    path = journal_path(str(tmp_path), 0)
    lines = open(path, "rb").read().splitlines(keepends=True)
    lines[0] = b"#" + lines[0][1:]  # does not parse
    lines[2] = lines[2].replace(b"c.png", b"x.png")  # parses, names another frame
    lines[3] = lines[3].replace(b'"seed": 7', b'"seed": 8')  # another run's seed
    open(path, "wb").write(b"".join(lines) + b'{"index": 4, "rec')  # and a torn tail
    warnings = set_aside_bad_lines(str(tmp_path), ids, 7)
    assert len(warnings) == 1 and "3 journal line(s) set aside" in warnings[0]
    assert "line 1: it does not parse" in warnings[0]
    assert open(path, "rb").read() == lines[1] + b'{"index": 4, "rec'
    quarantine = tmp_path / "records" / "quarantine.jsonl"
    assert quarantine.read_bytes() == lines[0] + lines[2] + lines[3]
    assert sorted(read_run(str(tmp_path))) == [1]
    assert set_aside_bad_lines(str(tmp_path), ids, 7) == []  # nothing left to set aside
    Journal(str(tmp_path), 0).close()  # cuts the torn tail only
    assert open(path, "rb").read() == lines[1]


def test_other_ranks_files_count_and_first_entry_wins(tmp_path):
    for rank, index in ((0, 0), (1, 1), (2, 1)):
        journal = Journal(str(tmp_path), rank)
        journal.append(index, {"rank": rank}, {})
        journal.close()
    done = read_run(str(tmp_path))
    assert sorted(done) == [0, 1] and done[1].record == {"rank": 1}


def test_state_never_unpickles_code():
    import base64
    import os
    import pickle

    evil = base64.b64encode(pickle.dumps(os.system)).decode()
    with pytest.raises(pickle.UnpicklingError, match="may not hold"):
        decode_state(evil)
    assert decode_state(encode_state({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}


def test_run_folders_are_never_shared(tmp_path):
    first = new_run_dir(str(tmp_path), "20250101_000000")
    second = new_run_dir(str(tmp_path), "20250101_000000")
    assert first != second and second.endswith("_2")
    write_json(f"{second}/run.json", {"task": "detection"})
    assert latest_run_dir(str(tmp_path)) == second
    with pytest.raises(FileNotFoundError, match="no run to resume"):
        latest_run_dir(str(tmp_path / "empty"))


def test_json_is_strict():
    assert dumps({"a": float("nan"), "b": [float("inf"), 1.0], "c": np.float32(2)}) == (
        '{"a": null, "b": [null, 1.0], "c": 2.0}')


def test_resume_check_names_the_difference():
    original = {"task": "detection", "settings": {"n": 8, "sigma": 0.25}, "seed": 1}
    check_resumable(original, dict(original))
    with pytest.raises(ValueError, match=r"settings.n is 9 here but 8"):
        check_resumable(original, {**original, "settings": {"n": 9, "sigma": 0.25}})
    with pytest.raises(ValueError, match="seed is 2 here but 1"):
        check_resumable(original, {**original, "seed": 2})


def test_resume_refuses_changed_code():
    original = {"task": "detection", "adcert_source_sha256": "a" * 64}
    with pytest.raises(ValueError, match="adcert's code changed"):
        check_resumable(original, {**original, "adcert_source_sha256": "b" * 64})
