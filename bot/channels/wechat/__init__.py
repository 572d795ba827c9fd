"""The WeChat Official Account (服务号) channel.

`crypto`: signatures and the AES envelope; `inbound`: callback XML to `Incoming`; `callback`:
the HTTP route WeChat posts to; `api`: the async client of WeChat's HTTP API; `tokens`: the one
access token all workers share; `window`: each resident's customer-service window; `outbound`:
the `OutputChannel` that renders and sends.
"""

CHANNEL = "wechat"
CALLBACK_PATH = "/wechat/callback"
