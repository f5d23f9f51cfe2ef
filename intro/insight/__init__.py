"""Insight: what chiefs, coordinators and admins learn from the data, within what they may see.

`dashboard` loads the chiefs' figures (intake, enrolment, completion, attendance, retention) for
their own municipality in detail and for the others in aggregate only; `competences` summarises
new hires' self-assessments per competence (competence gaps); `overview` loads what each role
sees first on the start page; `exports` writes the tables out as CSV and XLSX.

Pure: `retention` (spells, curves and disclosure control: suppression and rounding), `charts`
(SVG geometry), `exports` (bytes from rows already within scope) and `competences.summarise`.
`dashboard`, `competences` and `overview` read the database; nothing here writes.
"""
