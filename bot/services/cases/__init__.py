"""Requests (诉求) and their workflow: reading them, the state machine (`transitions` is its
table, `workflow` runs it), staff casework, reference numbers, category suggestions (and
`learning` from staff corrections), the staff queue, and the cards and notices a change
pushes."""
