"""Dual reporting (双报到) and co-building (共建): "the community sets the exam, the units answer,
the residents grade" (社区出卷、报到单位答卷、群众评卷).

Owns the reporting units' rights (`rights`: liaisons act for their unit, community admins for
their community), in-service members reporting to the community they live in and its calls for
volunteers with the hours ledger (`members`, `activities`), the community's list of needs
(`needs`), the units' projects answering them (`projects`), the residents' grades and the
rankings (`grades`), and the button actions of all of them (`actions`). Never commits.
"""
