"""Drives Debian's PyKMIP client (ProxyKmipClient) through a key lifecycle against our server.

Usage: pykmip_lifecycle.py HOST PORT CERT KEY CA KMIP_VERSION NAME
Prints one JSON document: the result of every step, so the test can check each one.
"""
import json
import sys

from kmip.core import enums
from pykmip_steps import Steps, client as pykmip_client

host, port, cert, key, ca, version, name = sys.argv[1:8]
step = Steps()
results = step.results


client = pykmip_client(host, port, cert, key, ca, version)
with client:
    uid = step("create", lambda: client.create(enums.CryptographicAlgorithm.AES, 256, name=name))
    step("get", lambda: (lambda k: {"algorithm": k.cryptographic_algorithm.name, "length": k.cryptographic_length, "bytes": len(k.value), "hex": k.value.hex()})(client.get(uid)))
    step("get_again", lambda: client.get(uid).value.hex())
    step(
        "get_attributes",
        lambda: {
            a.attribute_name.value: str(a.attribute_value.value) if hasattr(a.attribute_value, "value") else str(a.attribute_value)
            for a in client.get_attributes(uid, ["State", "Cryptographic Algorithm", "Cryptographic Length", "Object Type"])[1]
        },
    )
    step("get_attribute_list", lambda: sorted(client.get_attribute_list(uid)))
    step("locate_by_name", lambda: client.locate(attributes=[client.attribute_factory.create_attribute(enums.AttributeType.NAME, name)]))
    step("activate", lambda: client.activate(uid) or "ok")
    step("state_after_activate", lambda: str(client.get_attributes(uid, ["State"])[1][0].attribute_value.value))
    step("destroy_active", lambda: client.destroy(uid) or "destroyed")
    step("revoke", lambda: client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid) or "ok")
    step("state_after_revoke", lambda: str(client.get_attributes(uid, ["State"])[1][0].attribute_value.value))
    step("destroy", lambda: client.destroy(uid) or "ok")
    step("get_after_destroy", lambda: client.get(uid).value.hex())
    step("state_after_destroy", lambda: str(client.get_attributes(uid, ["State"])[1][0].attribute_value.value))

print(json.dumps({"uid": uid, "steps": results}))
