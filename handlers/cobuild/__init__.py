"""Dual reporting and co-building in conversation: members report in, calls and hours
(`members`), the community's needs and the board (`needs`), the units' projects and the
residents' grades (`projects`). Services: `bot.services.cobuild`."""
