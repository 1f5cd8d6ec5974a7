ALTER TABLE applications DROP COLUMN postal_address;
ALTER TABLE applications DROP COLUMN contact;
