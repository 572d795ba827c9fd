"""Callback signatures (checked in constant time) and the AES envelope of safe and compatible
mode, through wechatpy's cipher; a key rotated out stays accepted for decryption.

The scheme (WXBizMsgCrypt) is WeChat's and WeCom's alike; only the receive id sealed inside
differs: the service account's app id, or the WeCom corp id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

import xmltodict
from wechatpy.crypto import PrpCrypto


class BadCallback(Exception):
    """A callback that is not WeChat's (or not intact): refused, never processed."""


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    """Whether `given` is the signature of `parts`, compared in constant time."""
    return hmac.compare_digest(given.encode(), sign(*parts).encode())


def fresh(timestamp: str, *, now: float, skew: int) -> bool:
    """Whether a callback's timestamp is within `skew` seconds of `now`."""
    try:
        return abs(now - int(timestamp)) <= skew
    except ValueError:
        return False


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("an EncodingAESKey decodes to 32 bytes")
    return key


class Envelope:
    """Decrypts and encrypts message bodies for one account (`receive_id`: a service
    account's app id, a WeCom corp id); tries each key in turn."""

    def __init__(self, *, token: str, receive_id: str, encoding_aes_keys: Sequence[str]) -> None:
        self.token = token
        self.receive_id = receive_id
        self._keys = [aes_key(key) for key in encoding_aes_keys]

    def open(self, body: bytes, *, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plain XML inside an encrypted body (BadCallback when it is not intact)."""
        encrypt = encrypted_part(body)
        if encrypt is None:
            raise BadCallback("no Encrypt element")
        return self.open_text(
            encrypt, msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
        )

    def open_text(self, encrypt: str, *, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plain text of one signed ciphertext (a body's Encrypt, WeCom's `echostr`)."""
        if not signature_ok(msg_signature, self.token, timestamp, nonce, encrypt):
            raise BadCallback("bad msg_signature")
        return self.decrypt(encrypt)

    def decrypt(self, encrypt: str) -> str:
        """The plain text of one Encrypt value: the current key first, then the previous."""
        for key in self._keys:
            try:
                return str(PrpCrypto(key).decrypt(encrypt, self.receive_id))
            except Exception:  # a wrong key yields garbage: padding, length or id fail
                continue
        raise BadCallback("cannot decrypt with any key")

    def seal(self, xml: str, *, nonce: str, timestamp: str | None = None) -> str:
        """A reply encrypted with the current key, in WeChat's envelope."""
        timestamp = timestamp or str(int(time.time()))
        encrypt = PrpCrypto(self._keys[0]).encrypt(xml, self.receive_id).decode()
        signature = sign(self.token, timestamp, nonce, encrypt)
        return xmltodict.unparse(
            {
                "xml": {
                    "Encrypt": encrypt,
                    "MsgSignature": signature,
                    "TimeStamp": timestamp,
                    "Nonce": nonce,
                }
            },
            full_document=False,
        )


def encrypted_part(body: bytes) -> str | None:
    """The Encrypt element of a callback body, if it has one (None: plain or not XML)."""
    try:
        parsed = xmltodict.parse(body)
    except Exception:
        return None
    xml = parsed.get("xml") if isinstance(parsed, dict) else None
    value = xml.get("Encrypt") if isinstance(xml, dict) else None
    return value if isinstance(value, str) and value else None
