"""The domain: records, lifecycle rules, the guide as data, versions, the clock and display text.

Pure Python and pydantic: no Textual and no storage (tests/test_layers.py proves it).
"""
