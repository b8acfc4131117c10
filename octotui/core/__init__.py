"""The domain: models, playbook, lifecycle rules, clocks, templates and storage.

Nothing in this package imports Textual (tests/test_core_isolation.py proves it).
"""
