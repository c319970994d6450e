-- The school year a school moved into at its last rollover (docs/data-model.md, schools). Before, the rollover took the
-- earliest year among the active classes for the ending one, and a class made without a year between June's rollover
-- and 1 September got the ending year by the calendar: the next June only that class moved up, and a second rollover
-- moved the rest (first-graders two grades at once). Nothing stopped a second rollover in one summer either (a double
-- click, a retry after a lost answer), and it graduated the next class too.
ALTER TABLE schools ADD COLUMN rolled_over_to int CHECK (rolled_over_to BETWEEN 2000 AND 2100);

-- Schools that rolled over already: the year that rollover moved into is the calendar year it was made in.
UPDATE schools s SET rolled_over_to = r.year
FROM (SELECT school_id, max(extract(year FROM at))::int AS year FROM audit_events WHERE action = 'school_year.rolled_over' GROUP BY school_id) r
WHERE r.school_id = s.id;
