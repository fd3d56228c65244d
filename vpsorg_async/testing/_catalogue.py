"""The simulator's fixed catalogue: plans, OS images and datacenter locations.

The first entries are the ones the API document shows in its examples; the rest make a
plausible shop. JSON fragments are precomputed once because every rendered server embeds them.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "LOCATIONS",
    "OS_IMAGES",
    "PLANS",
    "Plan",
]


@attrs.frozen
class Plan:
    """A VPS plan: its sizes as the API shows them, and a monthly price (not shown by the API)."""

    id: int
    name: str
    vcpus: int
    memory: int  # MB
    storage: int  # GB
    bandwidth: int  # GB per month
    price: float  # per month, charged against the simulator's balance on create

    @property
    def summary(self) -> dict[str, Any]:
        """The plan object of the list item and create shapes (no bandwidth)."""
        return {
            "id": self.id,
            "name": self.name,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "storage": self.storage,
        }

    @property
    def detail(self) -> dict[str, Any]:
        """The plan object of the ServerDetail shape (with bandwidth)."""
        return {**self.summary, "bandwidth": self.bandwidth}


PLANS: dict[int, Plan] = {
    plan.id: plan
    for plan in (
        Plan(1, "Standard VPS", vcpus=2, memory=4096, storage=80, bandwidth=2048, price=20.0),
        Plan(2, "Performance VPS", vcpus=4, memory=8192, storage=160, bandwidth=4096, price=40.0),
        Plan(3, "Starter VPS", vcpus=1, memory=2048, storage=40, bandwidth=1024, price=10.0),
        Plan(4, "Memory VPS", vcpus=8, memory=32768, storage=320, bandwidth=8192, price=80.0),
    )
}

OS_IMAGES: dict[int, str] = {
    3: "Debian 12",
    4: "Ubuntu 20.04 LTS",
    5: "Ubuntu 22.04 LTS",
    6: "Ubuntu 24.04 LTS",
    7: "Rocky Linux 9",
}

LOCATIONS: tuple[str, ...] = ("us-west", "us-east", "eu-central", "ap-southeast")
