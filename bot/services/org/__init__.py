"""The organisation and who may do what: the district file (schema, checks, import), the org
tree, places, people, rights (grants, invites, audit), scopes, command menus that follow
roles, the demo fence, and erasing a person."""
