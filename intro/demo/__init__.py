"""Demo data: generators that fill an empty database with a believable installation.

Nothing outside this package imports it except the commands in app.py (`seed-demo`,
`demo-national`) and the tests (tests/test_layers.py says so). The generators go through the
domain's own rules (the planner, the plan rule, the curriculum loader) so the data is what the
product would have made.

`west_zealand` is the demo partnership people sign in to (`make run`), `history` adds years of
its past hires for the dashboard; `national` fills all 98 municipalities for the benchmarks.
All are deterministic from a seed and laid out relative to today. None is pure: they write the
database.
"""
