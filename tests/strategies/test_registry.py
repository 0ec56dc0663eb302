"""Strategies are found by name, by module path, and from module paths in the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.backtest.registry import BUILTIN, available, resolve
from optimizer.backtest.strategy import Strategy
from optimizer.errors import InvalidInput

USER_MODULE = """
from optimizer.planning.device import idle_command


class Lazy:
    name = "lazy"
    foresight = "realistic"

    def decide(self, context):
        return [idle_command()] * context.n


class NotAStrategy:
    pass
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_user_strategies.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_user_strategies"


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtins_resolve_by_name(name: str) -> None:
    strategy = resolve(name)
    assert isinstance(strategy, Strategy)
    assert strategy.name == name


def test_user_strategy_from_a_module_path(user_module: str) -> None:
    assert resolve(f"{user_module}:Lazy").name == "lazy"


def test_user_strategy_registered_by_name_from_settings(user_module: str) -> None:
    modules = [f"{user_module}:Lazy"]
    assert "lazy" in available(modules)
    assert resolve("lazy", modules).name == "lazy"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"'nope' is not known; known: .*cheapest-slots"):
        resolve("nope")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_module_xyz:Thing", "cannot import no_such_module_xyz"),
        ("optimizer.errors:Missing", "optimizer.errors has no Missing"),
        ("optimizer.errors:InvalidInput", "lacks name/foresight/decide"),
    ],
)
def test_bad_module_paths_say_what_is_wrong(path: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve(path)


def test_object_without_the_interface_is_refused(user_module: str) -> None:
    with pytest.raises(InvalidInput, match="NotAStrategy lacks"):
        resolve(f"{user_module}:NotAStrategy")
