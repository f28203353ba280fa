"""The arithmetic behind the calculator disguise: exact decimal arithmetic, no `eval`.

`Calculator.press(key)` takes "0".."9", ".", "+", "−", "×", "÷", "%", "C", "⌫", "=" and keeps
`display`. Percent works as on phones: 200+10% is 220, 200−10% is 180, 200×10% is 20. On "=",
`entry` (what was typed) is returned so the screen can decide whether it was an unlock attempt
(digits only) before showing the result, as any calculator would. `ERROR` is shown translated.
"""

from __future__ import annotations

from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

OPERATORS = ("+", "−", "×", "÷")
DIGITS = tuple("0123456789")
ERROR = "Error"


def evaluate(expression: str) -> str:
    """Evaluate `1+2×3` with the usual precedence; returns the display text or "Error"."""
    tokens: list[str] = []
    number = ""
    for ch in expression:
        if ch in DIGITS or ch == ".":
            number += ch
        elif ch == "%" and number:
            number = _percent(tokens, number)
        elif ch in OPERATORS:
            if not number:
                if ch == "−" and not tokens:
                    number = "-"
                    continue
                return ERROR
            tokens += [number, ch]
            number = ""
        else:
            return ERROR
    if not number or number in ("-", "."):
        return ERROR
    tokens.append(number)
    try:
        with localcontext() as ctx:
            ctx.prec = 28
            ctx.traps[DivisionByZero] = True
            values = [Decimal(tokens[0])]
            ops: list[str] = []
            for op, raw in zip(tokens[1::2], tokens[2::2], strict=True):
                value = Decimal(raw)
                if op == "×":
                    values[-1] *= value
                elif op == "÷":
                    values[-1] /= value
                else:
                    ops.append(op)
                    values.append(value)
            result = values[0]
            for op, value in zip(ops, values[1:], strict=True):
                result = result + value if op == "+" else result - value
    except (InvalidOperation, DivisionByZero, ArithmeticError):
        return ERROR
    text = format(result.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if len(text) <= 18 else format(result, ".10g")


def _percent(tokens: list[str], number: str) -> str:
    """`b%` as phones read it: after `+` or `−`, b per cent of what comes before
    (200+10% is 220); otherwise b hundredths (200×10% is 20)."""
    fraction = Decimal(number) / 100
    if len(tokens) >= 2 and tokens[-1] in ("+", "−"):
        base = evaluate("".join(tokens[:-1]))
        if base != ERROR:
            return str(Decimal(base) * fraction)
    return str(fraction)


class Calculator:
    def __init__(self) -> None:
        self.entry = ""
        self.display = "0"
        self.just_evaluated = False

    def press(self, key: str) -> str | None:
        """Apply a key. Returns the typed entry when `key` is "=", else None."""
        if key == "C":
            self.entry, self.display, self.just_evaluated = "", "0", False
            return None
        if key == "⌫":
            self.entry = self.entry[:-1]
            self.display = self.entry or "0"
            return None
        if key == "=":
            typed = self.entry
            self.display = evaluate(typed) if typed else "0"
            self.entry = "" if self.display == ERROR else self.display.replace("-", "−", 1)
            self.just_evaluated = True
            return typed
        if self.just_evaluated and (key in DIGITS or key == "."):
            self.entry = ""
        self.just_evaluated = False
        if key in OPERATORS and self.entry and self.entry[-1] in OPERATORS:
            self.entry = self.entry[:-1]
        if len(self.entry) < 40:
            self.entry += key
        self.display = self.entry
        return None

    def show(self, text: str) -> None:
        self.display = text
