"""Signatures and the AES envelope, on the official test vectors (wechatpy's tests carry
them: token 123456, the EncodingAESKey below, app id wx49f0ab532d5d035a)."""

from __future__ import annotations

import hashlib

import pytest
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bot.channels.wechat.crypto import BadCallback, Envelope, fresh, sign, signature_ok

TOKEN = "123456"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APP_ID = "wx49f0ab532d5d035a"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ENCRYPTED = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    "<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu"
    "7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8Xza"
    "FYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29m"
    "TvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGh"
    "cUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]>"
    "</Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>"
)
REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
SEALED_REPLY = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBq"
    "GsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFh"
    "HZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX0"
    "5UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3"
    "WeK2XeFYFMNMpatF9XiKzHo3"
)


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted(["tok", "1411443780", "437374425"])).encode())
    assert sign("tok", "1411443780", "437374425") == expected.hexdigest()
    assert signature_ok(expected.hexdigest(), "tok", "437374425", "1411443780")
    assert not signature_ok(expected.hexdigest()[:-1] + "0", "tok", "1411443780", "437374425")
    assert not signature_ok("", "tok", "1411443780", "437374425")


def test_official_vector_decrypts() -> None:
    envelope = Envelope(token=TOKEN, receive_id=APP_ID, encoding_aes_keys=[KEY])
    xml = envelope.open(
        ENCRYPTED.encode(),
        msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
        timestamp="1411525903",
        nonce="461056294",
    )
    assert "<Content><![CDATA[test]]></Content>" in xml
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in xml


def test_official_vector_encrypts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PrpCrypto, "get_random_string", lambda self: "1234567890123456")
    envelope = Envelope(token=TOKEN, receive_id=APP_ID, encoding_aes_keys=[KEY])
    sealed = envelope.seal(REPLY, nonce="461056294", timestamp="1411525903")
    assert f"<Encrypt>{SEALED_REPLY}</Encrypt>" in sealed
    assert "<MsgSignature>407518b7649e86ef23978113f92d27afa9296533</MsgSignature>" in sealed


def test_a_wrong_msg_signature_is_refused() -> None:
    envelope = Envelope(token=TOKEN, receive_id=APP_ID, encoding_aes_keys=[KEY])
    with pytest.raises(BadCallback):
        envelope.open(
            ENCRYPTED.encode(),
            msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26e",
            timestamp="1411525903",
            nonce="461056294",
        )


def test_the_previous_key_still_opens_after_a_rotation() -> None:
    old = WeChatCrypto(TOKEN, KEY, APP_ID).encrypt_message("<xml><a>1</a></xml>", "5", "1000")
    rotated = Envelope(token=TOKEN, receive_id=APP_ID, encoding_aes_keys=[OTHER_KEY, KEY])
    encrypt = old.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert rotated.decrypt(encrypt) == "<xml><a>1</a></xml>"
    with pytest.raises(BadCallback):
        Envelope(token=TOKEN, receive_id=APP_ID, encoding_aes_keys=[OTHER_KEY]).decrypt(encrypt)


def test_freshness() -> None:
    assert fresh("1000", now=1200, skew=300)
    assert not fresh("1000", now=1301, skew=300)
    assert not fresh("1000", now=600, skew=300)
    assert not fresh("soon", now=1000, skew=300)
