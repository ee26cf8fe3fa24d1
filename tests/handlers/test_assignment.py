"""The Hungarian algorithm finds the optimal assignment, where greedy does not."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.assignment import min_cost_assignment


def brute_force(cost):
    rows, cols = len(cost), len(cost[0])
    if rows <= cols:
        return min(
            sum(cost[r][c] for r, c in enumerate(p))
            for p in itertools.permutations(range(cols), rows)
        )
    return min(
        sum(cost[r][c] for c, r in enumerate(p)) for p in itertools.permutations(range(rows), cols)
    )


def test_assignment_beats_greedy_best_pair_first():
    # Greedy takes the 0.0 pair (row 0, col 0) and is left with 0.9 + 0.9; optimal is 0.1 + 0.1 + 0.0.
    cost = [[0.0, 0.1, 0.9], [0.1, 0.9, 0.9], [0.9, 0.9, 0.0]]
    pairs = min_cost_assignment(cost)
    assert pairs == [(0, 1), (1, 0), (2, 2)]


def test_assignment_more_rows_than_columns_leaves_rows_unmatched():
    assert min_cost_assignment([[5.0], [1.0], [3.0]]) == [(1, 0)]


def test_assignment_empty():
    assert min_cost_assignment([]) == []
    assert min_cost_assignment([[], []]) == []


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda rows: st.integers(1, 5).flatmap(
            lambda cols: st.lists(
                st.lists(st.floats(0, 1, allow_nan=False), min_size=cols, max_size=cols),
                min_size=rows, max_size=rows,
            )
        )
    )
)  # fmt: skip
def test_assignment_is_optimal_and_one_to_one(cost):
    pairs = min_cost_assignment(cost)
    assert len(pairs) == min(len(cost), len(cost[0]))
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    assert abs(sum(cost[r][c] for r, c in pairs) - brute_force(cost)) < 1e-9
