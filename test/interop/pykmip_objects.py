"""Drives Debian's PyKMIP client through Register (every object type it has), Create Key Pair,
Locate filters and a batch that relies on the ID Placeholder, against our server.

Usage: pykmip_objects.py HOST PORT CERT KEY CA KMIP_VERSION PREFIX
Prints one JSON document with the result of every step.
"""
import datetime
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from kmip.core import enums
from kmip.core.messages import messages, payloads
from kmip.core.messages.contents import Operation, UniqueBatchItemID
from kmip.core.objects import TemplateAttribute
from kmip.pie import objects
from pykmip_steps import Steps, client as pykmip_client

host, port, cert, key, ca, version, prefix = sys.argv[1:8]
step = Steps(trace_chars=800)
results = step.results


private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pkcs8 = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
pkcs1_public = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, prefix)])
now = datetime.datetime.now(datetime.timezone.utc)
certificate = (
    x509.CertificateBuilder()
    .subject_name(subject)
    .issuer_name(subject)
    .public_key(private.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=30))
    .sign(private, hashes.SHA256())
    .public_bytes(serialization.Encoding.DER)
)

registrations = {
    # PyKMIP names every object after its type unless told otherwise; Names are unique on a server.
    "symmetric_key": objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, bytes.fromhex("00112233445566778899aabbccddeeff"), name=prefix + "-symmetric"),
    "secret_data": objects.SecretData(b"a long enough password", enums.SecretDataType.PASSWORD, name=prefix + "-secret"),
    "opaque_object": objects.OpaqueObject(b"\x01\x02\x03\x04", enums.OpaqueDataType.NONE, name=prefix + "-opaque"),
    "certificate": objects.X509Certificate(certificate, name=prefix + "-certificate"),
    "public_key": objects.PublicKey(enums.CryptographicAlgorithm.RSA, 2048, pkcs1_public, enums.KeyFormatType.PKCS_1, name=prefix + "-registered-public"),
    "private_key": objects.PrivateKey(enums.CryptographicAlgorithm.RSA, 2048, pkcs8, enums.KeyFormatType.PKCS_8, name=prefix + "-registered-private"),
    # Part 3 of a 2-of-4 split of an AES-128 key (GF(2^16) sharing is KMIP 1.0, so every version has it).
    "split_key": objects.SplitKey(
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES,
        cryptographic_length=128,
        key_value=bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        name=prefix + "-split",
        split_key_parts=4,
        key_part_identifier=3,
        split_key_threshold=2,
        split_key_method=enums.SplitKeyMethod.POLYNOMIAL_SHARING_GF_2_16,
    ),
}

client = pykmip_client(host, port, cert, key, ca, version)
with client:
    for label, managed in registrations.items():
        def roundtrip(managed=managed):
            uid = client.register(managed)
            back = client.get(uid)
            return {"uid": uid, "type": back.object_type.name, "same": back.value == managed.value}
        step("register_" + label, roundtrip)

    def split_key_fields():
        back = client.get(results["register_split_key"]["value"]["uid"])
        return {
            "parts": back.split_key_parts,
            "part": back.key_part_identifier,
            "threshold": back.split_key_threshold,
            "method": back.split_key_method.name,
            "length": back.cryptographic_length,
        }

    step("split_key_fields", split_key_fields)

    pair = step(
        "create_key_pair",
        lambda: client.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048, public_name=prefix + "-public", private_name=prefix + "-private"),
    )

    def signs_and_verifies():
        public_uid, private_uid = pair
        priv = client.get(private_uid)
        pub = client.get(public_uid)
        private_key = serialization.load_der_private_key(priv.value, password=None)
        public_key = serialization.load_der_public_key(pub.value)
        signature = private_key.sign(b"interop", padding.PKCS1v15(), hashes.SHA256())
        public_key.verify(signature, b"interop", padding.PKCS1v15(), hashes.SHA256())
        return {"private": priv.key_format_type.name, "public": pub.key_format_type.name, "length": priv.cryptographic_length}

    step("key_pair_signs", signs_and_verifies)
    factory = client.attribute_factory
    step("locate_private_keys", lambda: client.locate(attributes=[factory.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.PRIVATE_KEY)]))
    step("locate_by_name", lambda: client.locate(attributes=[factory.create_attribute(enums.AttributeType.NAME, prefix + "-public")]))
    step(
        "locate_rsa_public",
        lambda: client.locate(
            attributes=[
                factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.RSA),
                factory.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.PUBLIC_KEY),
            ]
        ),
    )
    step("locate_maximum_one", lambda: client.locate(maximum_items=1, attributes=[factory.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.PRIVATE_KEY)]))

    def placeholder_batch():
        template = TemplateAttribute(
            attributes=[
                factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
                factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
                factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]),
            ]
        )
        items = [
            # A batch of more than one item must number its items (Unique Batch Item ID).
            messages.RequestBatchItem(operation=Operation(enums.Operation.CREATE), unique_batch_item_id=UniqueBatchItemID(b"\x01"), request_payload=payloads.CreateRequestPayload(object_type=enums.ObjectType.SYMMETRIC_KEY, template_attribute=template)),
            # No Unique Identifier: the server uses the batch's ID Placeholder, the key just created.
            messages.RequestBatchItem(operation=Operation(enums.Operation.ACTIVATE), unique_batch_item_id=UniqueBatchItemID(b"\x02"), request_payload=payloads.ActivateRequestPayload()),
        ]
        proxy = client.proxy
        response = proxy._send_and_receive_message(proxy._build_request_message(None, items))
        if len(response.batch_items) != 2:
            return {"items": [(b.result_status.value.name, b.result_reason.value.name if b.result_reason else None, b.result_message.value if b.result_message else None) for b in response.batch_items]}
        created, activated = response.batch_items
        uid = created.response_payload.unique_identifier
        return {
            "statuses": [created.result_status.value.name, activated.result_status.value.name],
            "same_uid": activated.response_payload.unique_identifier.value == uid,
            "state": str(client.get_attributes(uid, ["State"])[1][0].attribute_value.value),
        }

    step("placeholder_batch", placeholder_batch)

print(json.dumps({"steps": results}))
