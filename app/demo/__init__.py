"""`fieldvault demo`: a throw-away organisation on this machine, to see FieldVault work.

- `app.demo.seed`: the invented incidents (ru, ky, kk, en) and the generated demo photo.
- `app.demo.orchestra`: starts the real server and drives the real `fieldvault` commands
  (coordinator init and invite, field init, add, sync, coordinator pull) in child processes.
- `app.cli_demo`: the command itself: seeds, starts both apps in web mode, cleans up on exit.

Danger: everything here is for demonstration. The passphrases are printed on screen and the data
directory is deleted when the demo stops; never point it at a real organisation's data.
"""
