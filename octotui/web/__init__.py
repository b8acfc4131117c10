"""The browser side of octotui: `octotui serve` (needs the `octotui[web]` extra)."""
