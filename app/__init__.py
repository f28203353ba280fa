"""The Flet apps (field and coordinator) and the `fieldvault` command line."""
