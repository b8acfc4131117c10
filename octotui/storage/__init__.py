"""Storage: the repository interface the services talk to, its error taxonomy, and its backends.

Nothing above this package knows which backend runs. The embedded one (`file_store`) keeps TinyDB's
document tables in octotui's journaled file format; TinyDB's private hooks live only in `file_store` and
`tracked_tinydb`.
"""
