"""The exercises package re-exports every topic module's checks; no name may be defined twice.

`from .topic import *` lets a later topic module silently replace an earlier
module's check of the same name, so a notebook would call the wrong check.
"""
import importlib
import pkgutil

import helpers.exercises as exercises


def topic_modules():
    return [importlib.import_module(f"helpers.exercises.{m.name}")
            for m in pkgutil.iter_modules(exercises.__path__) if not m.name.startswith("_")]


def test_topic_modules_do_not_share_names():
    seen = {}
    for module in topic_modules():
        for name in module.__all__:
            assert name not in seen, f"{name} is defined in both {seen[name]} and {module.__name__}"
            seen[name] = module.__name__
    assert len(seen) >= 5


def test_every_check_is_re_exported_from_its_own_module():
    for module in topic_modules():
        for name in module.__all__:
            assert name in exercises.__all__, f"{module.__name__}.{name} is not re-exported"
            assert getattr(exercises, name) is getattr(module, name)
            assert name.startswith("check_"), f"{module.__name__}.{name}: checks are named check_*"
