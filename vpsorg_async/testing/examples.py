"""The VPS.org Servers API document's example payloads, as Python dicts, and a shape comparison.

Each constant is the document's example for one request or answer, key for key and value for
value (``SERVER`` is the first item of the list example). Use them wherever a payload must
look like the real API's: a mocked answer, a fake server, a benchmark body::

    from vpsorg_async.testing.examples import DETAIL_RESPONSE, json_shape

    mocked.get(url, payload=DETAIL_RESPONSE)
    assert json_shape(my_fake_answer) == json_shape(DETAIL_RESPONSE)

The dicts are shared, not copied per use: copy one (``copy.deepcopy``) before changing it.
This module imports nothing, so it is cheap to import anywhere.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CREATE_REQUEST",
    "CREATE_RESPONSE",
    "DETAIL_RESPONSE",
    "LIST_RESPONSE",
    "PATCH_REQUEST",
    "REBOOT_RESPONSE",
    "SERVER",
    "START_RESPONSE",
    "STOP_RESPONSE",
    "UPDATE_REQUEST",
    "json_shape",
]

LIST_RESPONSE: dict[str, Any] = {
    "count": 2,
    "results": [
        {
            "id": 12345,
            "name": "web-server-01",
            "hostname": "web01.example.com",
            "status": "active",
            "ip_address": "203.0.113.10",
            "location": "us-west",
            "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
            "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
            "created_at": "2025-01-10T14:30:00Z",
            "updated_at": "2025-01-15T10:20:00Z",
        },
        {
            "id": 12346,
            "name": "db-server-01",
            "hostname": "db01.example.com",
            "status": "active",
            "ip_address": "203.0.113.11",
            "location": "us-east",
            "plan": {
                "id": 2,
                "name": "Performance VPS",
                "vcpus": 4,
                "memory": 8192,
                "storage": 160,
            },
            "os": {"id": 3, "name": "Debian 12"},
            "created_at": "2025-01-12T09:15:00Z",
            "updated_at": "2025-01-16T08:45:00Z",
        },
    ],
}

SERVER: dict[str, Any] = LIST_RESPONSE["results"][0]

CREATE_REQUEST: dict[str, Any] = {
    "name": "web-server-02",
    "plan_id": 1,
    "os_id": 5,
    "location": "us-west",
    "hostname": "web02.example.com",
    "backups_enabled": True,
}

CREATE_RESPONSE: dict[str, Any] = {
    "id": 12347,
    "name": "web-server-02",
    "hostname": "web02.example.com",
    "status": "provisioning",
    "ip_address": None,
    "location": "us-west",
    "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "created_at": "2025-01-16T15:30:00Z",
    "updated_at": "2025-01-16T15:30:00Z",
    "message": "Server is being provisioned. This may take 2-5 minutes.",
}

DETAIL_RESPONSE: dict[str, Any] = {
    "id": 12345,
    "name": "web-server-01",
    "hostname": "web01.example.com",
    "status": "active",
    "ip_address": "203.0.113.10",
    "ipv6_address": "2001:0db8::1",
    "location": "us-west",
    "plan": {
        "id": 1,
        "name": "Standard VPS",
        "vcpus": 2,
        "memory": 4096,
        "storage": 80,
        "bandwidth": 2048,
    },
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "resource_usage": {
        "cpu_percent": 23.5,
        "memory_used": 2048,
        "disk_used": 35,
        "bandwidth_used": 450,
    },
    "created_at": "2025-01-10T14:30:00Z",
    "updated_at": "2025-01-16T15:45:00Z",
}

UPDATE_REQUEST: dict[str, Any] = {
    "name": "web-server-updated",
    "hostname": "web-updated.example.com",
    "backups_enabled": True,
}

PATCH_REQUEST: dict[str, Any] = {"name": "new-server-name"}

START_RESPONSE: dict[str, Any] = {
    "status": "success",
    "message": "Server is starting",
    "server": {"id": 12345, "name": "web-server-01", "status": "starting"},
}

STOP_RESPONSE: dict[str, Any] = {
    "status": "success",
    "message": "Server is stopping",
    "server": {"id": 12345, "name": "web-server-01", "status": "stopping"},
}

REBOOT_RESPONSE: dict[str, Any] = {
    "status": "success",
    "message": "Server is rebooting",
    "server": {"id": 12345, "name": "web-server-01", "status": "rebooting"},
}


def json_shape(value: Any) -> Any:
    """Reduce JSON to its shape: the same keys, with JSON type names instead of values.

    ``json_shape(answer) == json_shape(example)`` says "same keys, same JSON types" at every
    depth; a list's shape is the shape of its first element.
    """
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(value[0])] if value else []
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise TypeError(f"not JSON: {value!r}")
