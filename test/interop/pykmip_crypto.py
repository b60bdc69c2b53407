"""Drives Debian's PyKMIP client (ProxyKmipClient) through the cryptographic operations against our server.

Usage: pykmip_crypto.py HOST PORT CERT KEY CA KMIP_VERSION
Prints one JSON document: the result of every step. Results the server computed are checked here with
the 'cryptography' package (PyKMIP's own dependency) on the key material Get returns, so the test
compares against a second implementation, not against the server itself.
"""
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, padding as sympadding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asympadding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from kmip.core import enums
from kmip.pie import objects
from pykmip_steps import Steps, client as pykmip_client

host, port, cert, key, ca, version = sys.argv[1:7]
step = Steps()
results = step.results


U = enums.CryptographicUsageMask
client = pykmip_client(host, port, cert, key, ca, version)
with client:
    message = os.urandom(45)

    aes = step("create_aes", lambda: client.create(enums.CryptographicAlgorithm.AES, 256, cryptographic_usage_mask=[U.ENCRYPT, U.DECRYPT]))
    step("activate_aes", lambda: client.activate(aes) or "ok")
    cbc = {"block_cipher_mode": enums.BlockCipherMode.CBC, "padding_method": enums.PaddingMethod.PKCS5, "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}

    def cbc_round_trip():
        ciphertext, iv = client.encrypt(message, uid=aes, cryptographic_parameters=dict(cbc, random_iv=True))
        plain = client.decrypt(ciphertext, uid=aes, cryptographic_parameters=cbc, iv_counter_nonce=iv)
        raw = client.get(aes).value
        decryptor = Cipher(algorithms.AES(raw), modes.CBC(iv)).decryptor()
        unpadder = sympadding.PKCS7(128).unpadder()
        local = unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize()
        return {"iv_bytes": len(iv or b""), "ciphertext_bytes": len(ciphertext), "round_trip": plain == message, "matches_local": local == message}

    step("aes_cbc", cbc_round_trip)

    def cbc_client_iv():
        iv = os.urandom(16)
        ciphertext, returned = client.encrypt(message, uid=aes, cryptographic_parameters=cbc, iv_counter_nonce=iv)
        plain = client.decrypt(ciphertext, uid=aes, cryptographic_parameters=cbc, iv_counter_nonce=iv)
        return {"iv_returned": returned is not None, "round_trip": plain == message}

    step("aes_cbc_client_iv", cbc_client_iv)

    gcm = {"block_cipher_mode": enums.BlockCipherMode.GCM, "cryptographic_algorithm": enums.CryptographicAlgorithm.AES, "tag_length": 16}

    def gcm_encrypt():
        # ProxyKmipClient drops the Authenticated Encryption Tag it receives, so only the encryption is
        # checked: the ciphertext is the GCM keystream applied to the message (checked locally).
        iv = os.urandom(12)
        ciphertext, _ = client.encrypt(message, uid=aes, cryptographic_parameters=gcm, iv_counter_nonce=iv)
        raw = client.get(aes).value
        encryptor = Cipher(algorithms.AES(raw), modes.GCM(iv)).encryptor()
        local = encryptor.update(message) + encryptor.finalize()
        return {"ciphertext_bytes": len(ciphertext), "matches_local": ciphertext == local}

    step("aes_gcm_encrypt", gcm_encrypt)
    step("aes_gcm_decrypt_without_tag", lambda: client.decrypt(b"\x00" * 16, uid=aes, cryptographic_parameters=gcm, iv_counter_nonce=b"\x00" * 12).hex())

    pair = step(
        "create_rsa",
        lambda: list(client.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048, public_usage_mask=[U.VERIFY], private_usage_mask=[U.SIGN])),
    )
    public_uid, private_uid = pair if pair else (None, None)
    step("activate_rsa", lambda: (client.activate(public_uid), client.activate(private_uid)) and "ok")
    pss = {"padding_method": enums.PaddingMethod.PSS, "hashing_algorithm": enums.HashingAlgorithm.SHA_256, "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA}
    v15 = {"digital_signature_algorithm": enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION, "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA}

    def sign_verify(params, local_padding):
        signature = client.sign(message, uid=private_uid, cryptographic_parameters=params)
        valid = client.signature_verify(message, signature, uid=public_uid, cryptographic_parameters=params)
        invalid = client.signature_verify(message + b"!", signature, uid=public_uid, cryptographic_parameters=params)
        # load_der_public_key takes both forms Get may return (PKCS#1 RSAPublicKey, X.509 SubjectPublicKeyInfo).
        public = serialization.load_der_public_key(client.get(public_uid).value)
        try:
            public.verify(signature, message, local_padding, hashes.SHA256())
            local = True
        except Exception:
            local = False
        return {"signature_bytes": len(signature), "valid": str(valid), "tampered": str(invalid), "verified_locally": local}

    step("rsa_pss", lambda: sign_verify(pss, asympadding.PSS(mgf=asympadding.MGF1(hashes.SHA256()), salt_length=asympadding.PSS.AUTO)))
    step("rsa_pkcs1v15", lambda: sign_verify(v15, asympadding.PKCS1v15()))

    hmac_uid = step("create_hmac", lambda: client.create(enums.CryptographicAlgorithm.HMAC_SHA256, 256, cryptographic_usage_mask=[U.MAC_GENERATE]))
    step("activate_hmac", lambda: client.activate(hmac_uid) or "ok")

    def mac():
        uid, tag = client.mac(message, uid=hmac_uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
        local = hmac.new(client.get(hmac_uid).value, message, hashlib.sha256).digest()
        return {"uid_matches": uid == hmac_uid, "mac_bytes": len(tag), "matches_local": tag == local}

    step("hmac_sha256", mac)

    derive_base = step("create_derive_base", lambda: client.create(enums.CryptographicAlgorithm.HMAC_SHA256, 256, cryptographic_usage_mask=[U.DERIVE_KEY]))
    step("activate_derive_base", lambda: client.activate(derive_base) or "ok")

    def derive_hmac():
        data = os.urandom(24)
        uid = client.derive_key(
            enums.ObjectType.SYMMETRIC_KEY,
            [derive_base],
            enums.DerivationMethod.HMAC,
            {"derivation_data": data},
            cryptographic_algorithm=enums.CryptographicAlgorithm.AES,
            cryptographic_length=128,
            cryptographic_usage_mask=[U.ENCRYPT, U.DECRYPT],
        )
        derived = client.get(uid).value
        local = hmac.new(client.get(derive_base).value, data, hashlib.sha256).digest()[:16]
        return {"new_object": uid != derive_base, "key_bytes": len(derived), "matches_local": derived == local}

    step("derive_hmac", derive_hmac)

    def derive_pbkdf2():
        password = os.urandom(20)
        # A Name of its own: pie objects all carry a default one, and the tenant runs this once per version.
        name = "derive-password-" + os.urandom(6).hex()
        secret = client.register(objects.SecretData(password, enums.SecretDataType.PASSWORD, masks=[U.DERIVE_KEY], name=name))
        client.activate(secret)
        salt = os.urandom(16)
        params = {"cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256}, "salt": salt, "iteration_count": 1000}
        uid = client.derive_key(enums.ObjectType.SECRET_DATA, [secret], enums.DerivationMethod.PBKDF2, params, cryptographic_length=256)
        return {"matches_local": client.get(uid).value == hashlib.pbkdf2_hmac("sha256", password, salt, 1000, 32)}

    step("derive_pbkdf2", derive_pbkdf2)

print(json.dumps({"steps": results}))
