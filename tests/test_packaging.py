"""The installed package: every subpackage in the tree is listed in pyproject.toml (a missing one would be
absent from the wheel while the checkout still works), and no generic top-level name is installed."""

import tomllib

from conftest import ROOT


def listed_packages() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_subpackage_of_the_tree_is_in_the_wheel():
    in_tree = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "ketamine_outcomes").rglob("__init__.py")}
    mapped = {"ketamine_outcomes.dashboard", "ketamine_outcomes.queries", "ketamine_outcomes.docs"}
    assert listed_packages() == in_tree | mapped


def test_only_the_product_name_is_installed_at_the_top():
    assert {name.split(".")[0] for name in listed_packages()} == {"ketamine_outcomes"}
