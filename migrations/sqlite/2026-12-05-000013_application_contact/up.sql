-- Who the competence centre writes to about an application (issue 15): a contact person by
-- name and function, and the postal address its notices are sent to (lines separated by
-- line breaks). Required when an application is submitted; older cases have none.
ALTER TABLE applications ADD COLUMN contact TEXT;
ALTER TABLE applications ADD COLUMN postal_address TEXT;
