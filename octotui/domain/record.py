"""The base of every stored or parsed record."""

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    # Validators are built on first use, not at import: start-up only pays for what the first screen reads.
    model_config = ConfigDict(defer_build=True)
