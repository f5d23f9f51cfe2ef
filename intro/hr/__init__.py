"""HR: employments from the municipalities' payroll/HR systems, and what follows from them.

`employments` is the one write path both ways in go through (the CSV import and the HR API),
keyed on the HR system's own employment id; `imports` reads an uploaded CSV file, previews it,
keeps it and commits it through that path; `offboarding` ends a participant's access when no
employment in the municipality has run for the grace period.

Pure: reading and checking a CSV file's rows in `imports` (no database until the preview is
stored). The rest reads and writes the database; each change is audited in its own transaction.
"""
