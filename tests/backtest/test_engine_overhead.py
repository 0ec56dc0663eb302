"""The engine's fast paths around each decision give what the plain ones give: a strategy's
answer taken as a chooser without typing's Protocol check where its type says what it is."""

from __future__ import annotations

from optimizer import commands
from optimizer.backtest.strategy import FixedCommands, SlotChooser, as_chooser
from optimizer.domain import BatterySpec, Command, GridSpec
from optimizer.planning import PlanOptions, build_problem, plan_policy
from tests.backtest.helpers import series, utc


class _Chooser:
    """A chooser of a type the engine does not know (duck-typed)."""

    def __len__(self) -> int:
        return 1

    def command_at(self, k: int, soc_kwh: float) -> Command:
        return commands.basic(1)


class _ListChooser(list[Command]):
    """A list that is a chooser too: the Protocol check decides, as before."""

    def command_at(self, k: int, soc_kwh: float) -> Command:
        return self[0]


def test_known_choosers_and_plain_sequences_are_taken_as_before() -> None:
    basic = commands.basic(1)
    fixed = FixedCommands((basic,))
    assert as_chooser(fixed) is fixed
    for answer in ([basic, basic], (basic,), []):
        chooser = as_chooser(answer)
        assert isinstance(chooser, FixedCommands) and chooser.commands == tuple(answer)
    duck = _Chooser()
    assert as_chooser(duck) is duck and isinstance(duck, SlotChooser)
    listed = _ListChooser([basic])
    assert as_chooser(listed) is listed


def test_a_policy_is_its_own_chooser() -> None:
    prices = series("2023-06-01T00:00Z", [0.1, 0.3, 0.2, 0.4])
    load = series("2023-06-01T00:00Z", [0.3, 0.5, 0.2, 0.4])
    problem = build_problem(prices, prices * 0.5, load, None, BatterySpec(), GridSpec(), 50.0,
                            utc("2023-06-01T00:00Z"), PlanOptions())  # fmt: skip
    policy = plan_policy(problem, PlanOptions())
    assert as_chooser(policy) is policy and isinstance(policy, SlotChooser)
