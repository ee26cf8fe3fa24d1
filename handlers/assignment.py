"""Optimal assignment (the Hungarian algorithm), for matching skeletons between workers.

Greedy matching (best pair first) can pair the wrong people when three or
more stand close together; an optimal assignment cannot. The matrices here
are tiny (people in one image), so the plain O(n²·m) Kuhn-Munkres method with
row and column potentials is more than fast enough.
"""

from __future__ import annotations

from collections.abc import Sequence


def min_cost_assignment(cost: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Pairs ``(row, column)`` minimising the total cost, one per row or column.

    With more rows than columns (or the reverse) every column (row) is used
    once and the remaining rows (columns) stay unmatched. Pairs are sorted by row.
    """
    rows = len(cost)
    cols = len(cost[0]) if rows else 0
    if rows == 0 or cols == 0:
        return []
    if rows > cols:
        transposed = [[cost[r][c] for r in range(rows)] for c in range(cols)]
        return sorted((r, c) for c, r in _assign(transposed))
    return _assign(cost)


def _assign(cost: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Kuhn-Munkres for ``n <= m``: each of the n rows gets a distinct column.

    Classic formulation with 1-based arrays: ``u``/``v`` are the row/column
    potentials, ``match[j]`` the row assigned to column j, ``way[j]`` the
    previous column on the alternating path that reached j.
    """
    n, m = len(cost), len(cost[0])
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    match = [0] * (m + 1)
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        min_to = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = match[j0]
            delta = inf
            j1 = 0
            row = cost[i0 - 1]
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = row[j - 1] - u[i0] - v[j]
                    if reduced < min_to[j]:
                        min_to[j] = reduced
                        way[j] = j0
                    if min_to[j] < delta:
                        delta = min_to[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    min_to[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:  # flip the alternating path back to its start
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    return sorted((match[j] - 1, j - 1) for j in range(1, m + 1) if match[j])
