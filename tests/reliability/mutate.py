"""Hypothesis strategies that damage a valid sample the way an attacker or a bad disk would.

`damaged_bytes(sample)` truncates, flips bits, inserts, deletes and splices bytes, or replaces
the sample with random bytes. `damaged_json(obj)` edits one place inside a JSON value: replaces
it with another JSON value of any type, deletes a key, adds an unknown key, or drops list items.
Both keep the damage small, so the result still looks like the format and reaches deep into the
parser instead of failing on the first byte.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def damaged_bytes(draw: st.DrawFn, sample: bytes) -> bytes:
    data = bytearray(sample)
    how = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice", "random"]))
    n = len(data)
    if how == "random" or n == 0:
        return draw(st.binary(max_size=max(64, 2 * n)))
    at = draw(st.integers(0, n - 1))
    if how == "truncate":
        return bytes(data[:at])
    if how == "flip":
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if how == "insert":
        return bytes(data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:])
    if how == "delete":
        end = draw(st.integers(at + 1, min(n, at + 16)))
        return bytes(data[:at] + data[end:])
    other = draw(st.integers(0, n - 1))
    return bytes(data[:at] + data[other:])


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _places(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _places(value, (*path, i))
    return found


@st.composite
def damaged_json(draw: st.DrawFn, obj: Any) -> Any:
    result = copy.deepcopy(obj)
    path = draw(st.sampled_from(_places(result)))
    how = draw(st.sampled_from(["replace", "delete", "add", "shorten"]))
    if not path:
        return draw(json_values) if how == "replace" else result
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    target = parent[last]
    if how == "replace":
        parent[last] = draw(json_values)
    elif how == "delete":
        del parent[last]
    elif how == "add" and isinstance(target, dict):
        target[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    elif how == "shorten" and isinstance(target, list | str) and target:
        parent[last] = target[: draw(st.integers(0, len(target) - 1))]
    else:
        parent[last] = draw(json_values)
    return result
