"""An accessibility check over Flutter's semantics tree in Chromium: every control a person can
act on has a name a screen reader announces, and a touch target of at least 48 x 48 logical
pixels (48 dp: Material's minimum, and Android's and WCAG 2.5.5's guidance).

Use `assert_accessible(ui, screen, scrolls=n)` on a `FletPage` (semantics are enabled by
`FletPage.open`) to fail with a readable list, or `problems(ui)` for the list itself. The
browser context renders at device pixel ratio 1, so CSS pixels are logical pixels.

What counts as a control a person acts on: a semantics node with role button, checkbox, radio,
switch, tab, slider, link or menuitem, one Flutter marks tappable (`flt-tappable`), and every
text field (an `input` or `textarea` inside a node), unless disabled. Its name is its
`aria-label`, its text, or for a text field the field's label. What is measured is the node's
box as the browser lays it out, which is where a tap lands.

What this cannot check (see docs/field-app.md, "Accessibility"): whether a name makes sense
(only that there is one), colour contrast, the order a screen reader reads in, and targets
inside dialogs and menus Flutter draws only while open (open them first, then check). A control
cut by the edge of a scrolling area is reported cut, so long screens are checked while
scrolling (`scrolls`), keeping the largest size each control showed.
"""

from __future__ import annotations

from typing import Any

MIN_TARGET = 48
INTERACTIVE_ROLES = ("button", "checkbox", "radio", "switch", "tab", "slider", "link", "menuitem")

_JS = """(roles) => Array.from(document.querySelectorAll('flt-semantics')).map(n => {
  const field = n.querySelector(':scope > input, :scope > textarea');
  const role = n.getAttribute('role') || (field ? 'textbox' : '');
  const acts = roles.includes(role) || n.hasAttribute('flt-tappable') || !!field;
  const disabled = (field && field.disabled) || n.getAttribute('aria-disabled') === 'true';
  if (!acts || disabled) return null;
  const r = n.getBoundingClientRect();
  const own = Array.from(n.childNodes)
      .filter(c => c.nodeType === Node.TEXT_NODE).map(c => c.textContent).join('');
  const name = (n.getAttribute('aria-label') || (field && field.getAttribute('aria-label'))
      || (n.children.length === 0 || field ? (n.textContent || '') : own) || '').trim();
  const text = field ? field.outerHTML.slice(0, 160) : (n.textContent || '').slice(0, 40);
  return {role: role || 'tappable', name: name, width: r.width, height: r.height,
          x: Math.round(r.x), y: Math.round(r.y), text: text};
}).filter(n => n !== null)"""


def controls(ui: Any) -> list[dict[str, Any]]:
    """Every control a person can act on, with its name and its box in CSS pixels, as the
    window shows it now (a node cut by the edge of a scrolling area is reported cut)."""
    found: list[dict[str, Any]] = ui.page.evaluate(_JS, list(INTERACTIVE_ROLES))
    return [c for c in found if c["width"] > 0 and c["height"] > 0]


def _big(c: dict[str, Any]) -> bool:
    return c["width"] >= MIN_TARGET - 0.5 and c["height"] >= MIN_TARGET - 0.5


def _inside(inner: dict[str, Any], outer: dict[str, Any]) -> bool:
    return (
        outer["x"] <= inner["x"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and outer["y"] <= inner["y"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def problems(ui: Any, *, scrolls: int = 0) -> list[str]:
    """One line per control with no name or a target smaller than 48 x 48.

    With `scrolls`, the screen is also checked after each of that many scrolls down by 300 px,
    and a control's size is the largest it showed: a control cut by the edge of a scrolling
    area in one window is whole in the next (Flutter reports the cut size).

    A small button lying inside a text field that is itself a large enough target (a
    drop-down's arrow) is let off the size rule: tapping the field does the same (WCAG 2.5.8's
    "equivalent" exception). It still needs a name."""
    nameless: dict[tuple[str, int, str], str] = {}
    sizes: dict[tuple[str, str, int], tuple[float, float]] = {}
    for step in range(scrolls + 1):
        if step:
            ui.page.mouse.move(180, 320)
            ui.page.mouse.wheel(0, 300)
            ui.page.wait_for_timeout(300)
        found = controls(ui)
        fields = [c for c in found if c["role"] == "textbox" and _big(c)]
        for c in found:
            if not c["name"]:
                nameless.setdefault(
                    (c["role"], c["x"], c["text"]),
                    f"no name: {c['role']} at ({c['x']}, {c['y']}) {c['text']!r}",
                )
                continue
            key = (c["role"], c["name"], round(c["x"]))
            if any(_inside(c, f) for f in fields if f is not c):
                sizes[key] = (MIN_TARGET, MIN_TARGET)
                continue
            width, height = sizes.get(key, (0.0, 0.0))
            sizes[key] = (max(width, c["width"]), max(height, c["height"]))
    small = [
        f"{w:.0f}x{h:.0f} px: {role} {name!r}"
        for (role, name, _x), (w, h) in sizes.items()
        if w < MIN_TARGET - 0.5 or h < MIN_TARGET - 0.5
    ]
    return [*nameless.values(), *small]


def assert_accessible(ui: Any, screen: str, *, scrolls: int = 0) -> None:
    found = problems(ui, scrolls=scrolls)
    assert not found, f"{screen}: " + "; ".join(found)
