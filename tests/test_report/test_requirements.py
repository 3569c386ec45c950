import pytest

from adcert.report.requirements import (
    DEFAULT_CONFIDENCE,
    load_requirements,
    parse_requirement,
)
from tests.test_report.fake_runs import requirements_file

GOOD = dict(id="R", metric="certified_ap50", cls="car", min=0.3, eps=0.1, alpha=1e-3)


def test_parse_fills_task_and_transform():
    req = parse_requirement(GOOD, 1)
    assert (req.task, req.transform, req.at_least, req.threshold) == (
        "detection", "gaussian", True, 0.3)
    assert "certified AP@50 of car ≥ 0.3" in req.goal_text()
    assert "ℓ2 perturbation of norm ≤ 0.1" in req.goal_text()


@pytest.mark.parametrize("change, message", [
    ({"metric": "accuracy"}, "unknown metric 'accuracy'"),
    ({"max": 0.5}, "exactly one of min= and max="),
    ({"eps": None}, "eps must be a finite number"),
    ({"alpha": 2.0}, "alpha must lie in [0, 1]"),
    ({"transform": "blur"}, "transform must be one of"),
    ({"task": "segmentation"}, "belongs to detection"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"confidence": 0}, "confidence must lie strictly between 0 and 1"),
    ({"confidence": 1.0}, "confidence must lie strictly between 0 and 1"),
])
def test_bad_requirement_names_the_problem(change, message):
    item = {**GOOD, **change}
    with pytest.raises(ValueError, match=None) as error:
        parse_requirement(item, 1)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert "requirement R" in str(error.value)


@pytest.mark.parametrize("item, message", [
    (dict(id="R", metric="certified_ap50", max=0.5, eps=0.1, alpha=1e-3),
     "certified_ap50 is a lower bound under attack; only min="),
    (dict(id="R", metric="may_vanish_rate", min=0.1, eps=0.1, alpha=1e-3),
     "may_vanish_rate is an upper bound under attack; only max="),
])
def test_a_certified_figure_is_compared_on_the_side_it_bounds(item, message):
    # A lower bound ≤ t says nothing about the attacked figure's maximum, nor an upper
    # bound ≥ t about its minimum: such a requirement could be "met" by nothing proven.
    with pytest.raises(ValueError, match=message):
        parse_requirement(item, 1)
    measured = dict(id="M", metric="smoothed_ap50", max=0.9, eps=0.1, alpha=1e-3)
    assert parse_requirement(measured, 1).threshold == 0.9  # measured: either side


def test_class_only_for_per_class_metrics():
    with pytest.raises(ValueError, match="no per-class figure"):
        parse_requirement({**GOOD, "metric": "certified_recall"}, 1)


def test_missing_key():
    item = dict(GOOD)
    del item["alpha"]
    with pytest.raises(ValueError, match="alpha is missing"):
        parse_requirement(item, 1)


def test_load_checks_file_and_duplicates(tmp_path):
    with pytest.raises(FileNotFoundError, match="requirements file not found"):
        load_requirements(str(tmp_path / "nope.py"))
    path = requirements_file(str(tmp_path / "req.py"), [GOOD, GOOD])
    with pytest.raises(ValueError, match="'R' is used twice"):
        load_requirements(path)
    empty = tmp_path / "empty.py"
    empty.write_text("title = 'x'\n")
    with pytest.raises(ValueError, match="non-empty list"):
        load_requirements(str(empty))
    spec = load_requirements(requirements_file(str(tmp_path / "ok.py"), [GOOD], "My case"))
    assert spec.title == "My case" and len(spec.requirements) == 1


def test_demo_requirements_load():
    spec = load_requirements("configs/report/demo.py")
    assert {r.task for r in spec.requirements} == {"detection", "segmentation"}
    assert {r.transform for r in spec.requirements} >= {"gaussian", "brightness", "gamma"}


def test_confidence_defaults_to_095_for_every_goal_and_the_top(tmp_path):
    assert DEFAULT_CONFIDENCE == 0.95
    req = parse_requirement(GOOD, 1)
    assert req.confidence == 0.95 and "confidence 0.95" in req.goal_text()
    assert parse_requirement({**GOOD, "confidence": 0.99}, 1).confidence == 0.99
    spec = load_requirements(requirements_file(str(tmp_path / "ok.py"), [GOOD]))
    assert spec.confidence == 0.95
    path = tmp_path / "top.py"
    path.write_text(f"confidence = 0.9\nrequirements = [{GOOD!r}]\n")
    assert load_requirements(str(path)).confidence == 0.9
    path.write_text(f"confidence = 1.5\nrequirements = [{GOOD!r}]\n")
    with pytest.raises(ValueError, match="confidence must lie in"):
        load_requirements(str(path))


LEVEL = dict(id="H", metric="certified_acc", level="category", min=0.95, eps=0.1, alpha=1e-3)


def test_a_hierarchy_level_is_read_and_named():
    req = parse_requirement(LEVEL, 1)
    assert (req.task, req.level) == ("segmentation", "category")
    assert "certified pixel accuracy at hierarchy level category" in req.goal_text()
    assert parse_requirement({**LEVEL, "metric": "certified_miou"}, 1).level == "category"
    assert parse_requirement({**LEVEL, "level": None}, 1).level is None


@pytest.mark.parametrize("change, message", [
    ({"metric": "abstain_rate", "min": None, "max": 0.1}, "no figure per hierarchy level"),
    ({"metric": "certified_ap50"}, "no figure per hierarchy level"),
    ({"metric": "certified_miou", "cls": "car"}, "give cls or level, not both"),
    ({"level": 2}, "level must be a hierarchy level's name"),
    ({"level": ""}, "level must be a hierarchy level's name"),
])
def test_a_bad_level_names_the_problem(change, message):
    item = {k: v for k, v in {**LEVEL, **change}.items() if v is not None}
    with pytest.raises(ValueError) as error:
        parse_requirement(item, 1)
    assert message in str(error.value) and "requirement H" in str(error.value)


def test_hierarchical_requirements_load():
    spec = load_requirements("configs/report/hierarchical.py")
    assert {r.level for r in spec.requirements} == {"category", "class", "group", None}
