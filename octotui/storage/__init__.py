"""Storage: the repository interface the services talk to, its error taxonomy, and its backends.

Nothing above this package knows which backend runs; TinyDB's private hooks live only in
`tinydb_store`.
"""
