"""octotui: OctoAcme's Release & Deployment Guide as a keyboard-first terminal app."""

__version__ = "0.1.0"
