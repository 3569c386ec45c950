"""Per-rank journals: one flushed line per frame; torn lines skipped and cut off."""

import numpy as np
import pytest

from adcert.pipeline.journal import Journal, decode_state, encode_state, journal_path, read_run
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
