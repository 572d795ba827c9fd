"""The WeCom (企业微信) self-built app channel, for grid staff, stewards and volunteers.

`api`: the async client of WeCom's HTTP API (and of group robots); `inbound`: callback XML to
`Incoming` (messages, card clicks); `callback`: the HTTP route WeCom posts to; `cards`:
template cards with buttons, and their updates in place; `outbound`: the `OutputChannel`;
`robots`: the group robots' `OutputChannel`. The envelope, the shared token and the nonce
book are the WeChat channel's (`bot.channels.wechat`): the same scheme, another receive id.
"""

from bot.config_channels import WECOM_ROBOT_CHANNEL

CHANNEL = "wecom"
ROBOT_CHANNEL = WECOM_ROBOT_CHANNEL
CALLBACK_PATH = "/wecom/callback"
