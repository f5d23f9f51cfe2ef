"""Planning: cohorts and their timetables, and what constrains and follows from them.

`cohorts` holds the coordinator's named operations (create a cohort, propose, accept, move or
cancel a course day); `cohort_forms` reads and checks the forms those operations take (the
new-cohort form and a course day's change), writing nothing; `rows` gives the cohort and course-day
rows their shape and small rules (pure); `planner_input` reads what the planner needs (modules, instructors,
venues, closed periods, other cohorts' bookings); `timetables` reads cohorts and timetables as
pages show them (timetable, conflicts across a partnership, phases); `programme` keeps a partnership's closed
periods and which modules each instructor may teach; `busy` reads instructors' own calendars of
busy times; `notices` composes, queues and sends the e-mails about a moved or cancelled day, and
`outbox` is those notices as admins and coordinators see them (queued, sent, failed; resend).

Pure: `scheduling` (the timetable planner and conflict finder, plain data in and out), `rows` and
`notices.compose_notice` (the Danish message for one reader). The rest reads and writes the
database; each change is audited in its own transaction.
"""
