"""Participation: a new hire's way through a cohort, from a place to a confirmed completion.

`enrolment` gives places, reserved seats and the wait-list; `attendance` keeps the sheets and
catch-up bookings; `plan` keeps each person's intro plan in step with the timetable and the
municipality's tasks; `tasks` is a municipality's template of local onboarding tasks;
`self_service` is what a participant does with their own plan (tasks, transfer answers,
reflections, self-ratings); `evaluations` asks for the course evaluation and the transfer
follow-up; `follow_up` is the coordinator's progress grid and confirming completion.

Pure: `progress` (attended, completed, falling behind: rules over plain data) and
`plan.desired_items`. The rest reads and writes the database; each change is audited in its own
transaction.
"""
