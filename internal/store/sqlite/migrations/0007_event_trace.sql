-- The trace an Event invocation continues when it runs: the X-Ray header of
-- the Invoke that accepted it ('' for events accepted before this column).
ALTER TABLE event_invocations ADD COLUMN trace TEXT NOT NULL DEFAULT '';
