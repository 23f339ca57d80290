"""Differences between two states of a resource, as the events that turn one into the other."""

from __future__ import annotations

from typing import Any

from res_protocol import DELETE_ACTION, dumps


def same(a: Any, b: Any) -> bool:
    """JSON equality of two normalized values (``1``, ``1.0`` and ``True`` all differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return a is b or dumps(a) == dumps(b)
    return bool(a == b)


def diff_model(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The ``values`` of a change event turning ``old`` into ``new`` (empty when they are equal)."""
    values = {k: v for k, v in new.items() if k not in old or not same(old[k], v)}
    values.update({k: DELETE_ACTION for k in old if k not in new})
    return values


def diff_collection(old: list[Any], new: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """``remove`` and ``add`` events turning ``old`` into ``new``, from a longest common subsequence.

    Removes come first from the highest index down, then adds from the lowest index up.
    """
    start = 0
    while start < len(old) and start < len(new) and same(old[start], new[start]):
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and same(old[end_old - 1], new[end_new - 1]):
        end_old -= 1
        end_new -= 1
    a, b = old[start:end_old], new[start:end_new]
    # lengths[i][j]: LCS length of a[i:] and b[j:]
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            if same(a[i], b[j]):
                lengths[i][j] = lengths[i + 1][j + 1] + 1
            else:
                lengths[i][j] = max(lengths[i + 1][j], lengths[i][j + 1])
    kept_a: set[int] = set()
    kept_b: set[int] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if same(a[i], b[j]):
            kept_a.add(i)
            kept_b.add(j)
            i += 1
            j += 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    events = [("remove", {"idx": start + i}) for i in range(len(a) - 1, -1, -1) if i not in kept_a]
    events += [("add", {"idx": start + j, "value": b[j]}) for j in range(len(b)) if j not in kept_b]
    return events
