"""People: who they are, how they sign in, and the organisation they belong to.

Accounts, passwords, role grants and sign-in sessions (`accounts`), one-time invitation and
reset links (`account_links`), sign-in through a municipality's identity provider
(`providers`), the second factor (`second_factor`), a person's own sign-ins (`sign_ins`),
partnerships, municipalities and venues (`organisation`), correcting and retiring that master
data (`master_data`), the HR systems' API tokens (`api_tokens`) and data subjects' rights
(`privacy`).

Pure: `municipality_codes` (the official list of municipalities, plain data). The others
read and write the database; each change is audited in its own transaction.
"""
