"""Small Flet widgets both apps use: language switcher, error banner, sensitive text fields.

Each takes already-translated text or a translator; none touches services, files or keys.
"""
