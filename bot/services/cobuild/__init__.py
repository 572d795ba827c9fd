"""Dual reporting (双报到) and co-building (共建): "the community sets the exam, the units answer,
the residents grade" (社区出卷、报到单位答卷、群众评卷).

Owns the reporting units' rights (`rights`: liaisons act for their unit, community admins for
their community), in-service members reporting to the community they live in and its calls for
volunteers with the hours ledger (`members`, `activities`), the community's list of needs
(`needs`), the units' projects answering them (`projects`) and their completion (`closing`),
the residents' grades and the units' ranking (`grades`), the quarterly property-service
ratings (`property_ratings`), the dual-reporting workbook (`workbook`), and the button actions
of all of them (`actions`). Never commits.
"""
