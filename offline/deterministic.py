"""Deterministic stand-ins for what providers generate (random strings, keys, certificates, addresses): derived
from a seed, so that two evaluations of a stack are identical."""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import string
import threading

from Crypto.PublicKey import RSA

_ALPHANUMERIC = string.ascii_letters + string.digits
MOCK_RSA_KEYS = 2  # a small pool: a 2048-bit key costs ~0.3 s to generate, and the tests need only distinctness


def seed_bytes(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def deterministic_alphanumeric(length: int, *seed: str) -> str:
    out, counter = "", 0
    while len(out) < length:
        block = hashlib.sha256(seed_bytes(*seed) + counter.to_bytes(4, "big")).digest()
        out += "".join(_ALPHANUMERIC[b % len(_ALPHANUMERIC)] for b in block)
        counter += 1
    return out[:length]


class _Drbg:
    """A deterministic byte stream (SHA-512 in counter mode) for reproducible mock key generation."""

    def __init__(self, seed: bytes) -> None:
        self._seed, self._buffer, self._counter = seed, b"", 0

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha512(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


_KEY_LOCK = threading.Lock()


@functools.cache
def _mock_key_material(slot: int) -> dict[str, str]:
    key = RSA.generate(2048, randfunc=_Drbg(seed_bytes("openedx-mock-rsa", str(slot))))
    public = key.public_key()
    return {
        "privateKeyPem": key.export_key("PEM").decode() + "\n",
        "privateKeyPemPkcs8": key.export_key("PEM", pkcs=8).decode() + "\n",
        "publicKeyPem": public.export_key("PEM").decode() + "\n",
        "privateKeyOpenssh": "",
        "publicKeyOpenssh": public.export_key("OpenSSH").decode() + "\n",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
        "id": hashlib.sha1(public.export_key("DER")).hexdigest(),
    }


def private_key_outputs(name: str) -> dict[str, str]:
    """A key from a small deterministic pool; the lock keeps concurrent registrations from generating twice."""
    with _KEY_LOCK:
        return _mock_key_material(int.from_bytes(seed_bytes(name)[:4], "big") % MOCK_RSA_KEYS)



def mock_pem(*seed: str) -> str:
    body = "".join(hashlib.sha512(seed_bytes(*seed, str(i))).hexdigest() for i in range(2)).encode()
    text = base64.b64encode(body).decode()
    lines = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def address_in(cidr: str, *seed: str) -> str:
    network = ipaddress.ip_network(cidr)
    offset = 2 + int.from_bytes(seed_bytes(*seed)[:4], "big") % max(network.num_addresses - 4, 1)
    return str(network.network_address + offset)

