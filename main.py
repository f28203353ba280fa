"""Flet entry point for `flet build` and `flet run`: starts the field app.

The coordinator app and the web modes are started with `fieldvault field|coordinator`.
"""

from app.field.entry import run

if __name__ == "__main__":
    run()
