-- Wrong query codes keyed in voice self-service (T10), per day: a case's
-- details (unit, deadline) are only for whoever holds its 6-digit query code,
-- and without a bound on guesses a caller could try codes all day. subject is
-- "case:<number>" or "caller:<calling number>"; the day is Asia/Shanghai.
CREATE TABLE selfservice_code_failures (
    day      date    NOT NULL,
    subject  text    NOT NULL,
    failures integer NOT NULL CHECK (failures > 0),
    PRIMARY KEY (day, subject)
);
